"""Hardware detection: NVIDIA (NVML), Apple unified memory, host RAM, as llama-server sees them."""

from tierdeck.core.hardware.detect import Detection, HardwareSession, detect_devices
from tierdeck.core.hardware.device import Device, GpuProcess
from tierdeck.core.hardware.engine_view import EngineDevice, EngineView
from tierdeck.core.hardware.nvidia import NvidiaReader

__all__ = ["Detection", "Device", "EngineDevice", "EngineView", "GpuProcess", "HardwareSession",
           "NvidiaReader", "detect_devices"]

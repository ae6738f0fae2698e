"""Hardware detection: NVIDIA (NVML), Apple unified memory, host RAM."""

from tierdeck.core.hardware.detect import Detection, detect_devices
from tierdeck.core.hardware.device import Device, GpuProcess
from tierdeck.core.hardware.nvidia import NvidiaReader

__all__ = ["Detection", "Device", "GpuProcess", "NvidiaReader", "detect_devices"]

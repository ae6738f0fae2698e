"""CUDA_VISIBLE_DEVICES / CUDA_DEVICE_ORDER applied to NVML's devices when llama-server cannot say."""

from tierdeck.core.hardware import detect_devices
from tierdeck.core.hardware.cuda_env import CudaCandidate, cuda_view
from tierdeck.core.hardware.engine_view import EngineView, parse_list_devices

from .fake_nvml import FakeGpu, FakeNvml, GiB, MiB

RAM = (64 * GiB, 40 * GiB)

# NVML order is PCI order: a slow card on bus 01, a fast one on bus 02.
SLOW = CudaCandidate(0, "GPU-1111aaaa", "00000000:01:00.0", (7, 5), 40)
FAST = CudaCandidate(1, "GPU-2222bbbb", "00000000:02:00.0", (8, 9), 128)


def test_default_order_is_fastest_first_not_pci():
    v = cuda_view([SLOW, FAST], {})
    assert v.order == [1, 0] and "FASTEST_FIRST" in v.rule


def test_pci_bus_id_order_matches_nvml():
    assert cuda_view([SLOW, FAST], {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}).order == [0, 1]


def test_visible_indices_count_in_cuda_order():
    # "0" is the fastest card under the default order, the first PCI card under PCI_BUS_ID.
    assert cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": "0"}).order == [1]
    pci = {"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    v = cuda_view([SLOW, FAST], pci)
    assert v.order == [0] and v.hidden == [1]


def test_visible_by_uuid_prefix_and_given_order():
    v = cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": "GPU-1111,GPU-2222bbbb"})
    assert v.order == [0, 1]


def test_list_stops_at_the_first_invalid_or_repeated_entry():
    assert cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": "1,7,0"}).order == [0]
    assert cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": "0,0,1"}).order == [1]
    assert cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": "-1"}).order == []
    assert cuda_view([SLOW, FAST], {"CUDA_VISIBLE_DEVICES": ""}).order == []


def test_mig_slices_by_new_and_old_ids():
    parent = CudaCandidate(0, "GPU-a100aaaa-0000", "00000000:07:00.0", (8, 0))
    s1 = CudaCandidate(1, "MIG-11111111-aaaa", None, mig_parent=0, mig_gi=1)
    s2 = CudaCandidate(2, "MIG-22222222-bbbb", None, mig_parent=0, mig_gi=2)
    assert cuda_view([parent, s1, s2], {"CUDA_VISIBLE_DEVICES": "MIG-22222222"}).order == [2]
    old = {"CUDA_VISIBLE_DEVICES": "MIG-GPU-a100aaaa-0000/1/0"}
    assert cuda_view([parent, s1, s2], old).order == [1]
    # Unset: CUDA shows one slice per MIG GPU, never the parent as a whole card.
    assert cuda_view([parent, s1, s2], {}).order == [1]
    # A MIG-mode GPU named by index is not usable: the list stops there.
    assert cuda_view([parent, s1, s2], {"CUDA_VISIBLE_DEVICES": "0"}).order == []


def two_cards():
    return FakeNvml([
        FakeGpu("NVIDIA GeForce RTX 2080", 8 * GiB, 0, uuid="GPU-1111aaaa", cc=(7, 5),
                pci_bus_id="00000000:01:00.0"),
        FakeGpu("NVIDIA GeForce RTX 4090", 24 * GiB, 0, uuid="GPU-2222bbbb", cc=(8, 9),
                pci_bus_id="00000000:02:00.0"),
    ])


def test_detect_without_engine_plans_only_what_cuda_shows():
    det = detect_devices(0, nvml=two_cards(), platform_name="linux", memory=RAM,
                         env={"CUDA_VISIBLE_DEVICES": "0"}, engine=None)
    gpus = [d for d in det.devices if d.is_gpu]
    assert [(d.name, d.engine_id, d.index) for d in gpus] == [("NVIDIA GeForce RTX 4090", "CUDA0", 0)]
    assert any("RTX 2080" in n and "not visible" in n for n in det.notes)
    assert any("CUDA rules" in n for n in det.notes)
    assert "FASTEST_FIRST" in gpus[0].how["engine_id"]


def test_engine_listing_decides_and_identical_cards_follow_cuda_order():
    nv = FakeNvml([FakeGpu("NVIDIA GeForce RTX 3090", 24 * GiB, 1 * GiB, uuid="GPU-a", pci_bus_id="0:01:00.0"),
                   FakeGpu("NVIDIA GeForce RTX 3090", 24 * GiB, 5 * GiB, uuid="GPU-b", pci_bus_id="0:02:00.0")])
    listing = "Available devices:\n  CUDA0: NVIDIA GeForce RTX 3090 (24135 MiB, 19000 MiB free)\n"
    view = EngineView("/opt/llama-server", *parse_list_devices(listing))
    env = {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    det = detect_devices(512, nvml=nv, platform_name="linux", memory=RAM, env=env, engine=view)
    [gpu] = [d for d in det.devices if d.is_gpu]
    assert gpu.uuid == "GPU-b" and gpu.engine_id == "CUDA0"
    assert gpu.total_bytes == 24135 * MiB  # the engine's total
    assert gpu.free_bytes == 19 * GiB and gpu.budget_bytes == 19 * GiB - 512 * MiB  # NVML, live
    assert "--list-devices" in gpu.how["total_bytes"]
    assert det.rules == ["devices: /opt/llama-server --list-devices: CUDA0"]


def test_cpu_only_build_plans_no_gpu():
    view = EngineView("/usr/bin/llama-server", *parse_list_devices("Available devices:\n  (none)\n"))
    det = detect_devices(0, nvml=two_cards(), platform_name="linux", memory=RAM, engine=view)
    assert [d.kind for d in det.devices] == ["cpu"]
    assert any("CPU-only build" in n for n in det.notes)


def test_engine_gpu_without_nvml_is_planned_on_engine_figures():
    """WSL2 after NVML crashed in the probe: the engine still sees the card."""
    listing = "Available devices:\n  CUDA0: NVIDIA GeForce RTX 4070 (12281 MiB, 11200 MiB free)\n"
    view = EngineView("llama-server", *parse_list_devices(listing))
    det = detect_devices(1024, nvml=FakeNvml([], init_error=9), platform_name="linux",
                         memory=RAM, engine=view)
    gpu = det.devices[0]
    assert (gpu.kind, gpu.engine_id, gpu.source) == ("nvidia", "CUDA0", "llama-server --list-devices")
    assert gpu.budget_bytes == (11200 - 1024) * MiB


def test_a_card_listed_by_cuda_and_vulkan_is_counted_once():
    listing = ("Available devices:\n  CUDA0: NVIDIA GeForce RTX 4090 (24080 MiB, 23000 MiB free)\n"
               "  Vulkan0: NVIDIA GeForce RTX 4090 (24560 MiB, 23000 MiB free)\n"
               "  Vulkan1: AMD Radeon RX 7900 XTX (24560 MiB, 24000 MiB free)\n")
    nv = FakeNvml([FakeGpu("NVIDIA GeForce RTX 4090", 24 * GiB, 0, uuid="GPU-4090")])
    det = detect_devices(0, nvml=nv, platform_name="linux", memory=RAM,
                         engine=EngineView("llama-server", *parse_list_devices(listing)))
    gpus = [(d.kind, d.engine_id) for d in det.devices if d.is_gpu]
    assert gpus == [("nvidia", "CUDA0"), ("gpu", "Vulkan1")]
    assert any("Vulkan0" in n and "already listed" in n for n in det.notes)


def test_engine_free_above_its_total_is_not_planned_on_llama_cpp_17536():
    """b7166 reported host RAM as a discrete 5090's free memory (55372 of 32106 MiB)."""
    from .test_engine_view import CUDA_5090_ISSUE_17536

    nv = FakeNvml([FakeGpu("NVIDIA GeForce RTX 5090", 32607 * MiB, 600 * MiB, uuid="GPU-5090")])
    det = detect_devices(0, nvml=nv, platform_name="linux", memory=RAM,
                         engine=EngineView("llama-server", *parse_list_devices(CUDA_5090_ISSUE_17536)))
    gpu = det.devices[0]
    assert gpu.engine_id == "CUDA0" and gpu.total_bytes == 32106 * MiB
    assert gpu.free_bytes == min(32007 * MiB, 32106 * MiB)  # NVML's live free, not 55372
    assert any("engine total 32106 MiB vs NVML 32607 MiB" in n for n in gpu.notes)


def test_three_identical_cards_follow_the_predicted_cuda_numbers():
    cards = [FakeGpu("NVIDIA RTX A6000", 48 * GiB, 0, uuid=f"GPU-{c}", pci_bus_id=f"0:0{i}:00.0")
             for i, c in enumerate("abc")]
    line = "  CUDA{n}: NVIDIA RTX A6000 (48676 MiB, 48000 MiB free)\n"
    listing = "Available devices:\n" + "".join(line.format(n=n) for n in range(3))
    env = {"CUDA_VISIBLE_DEVICES": "2,0,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    det = detect_devices(0, nvml=FakeNvml(cards), platform_name="linux", memory=RAM, env=env,
                         engine=EngineView("llama-server", *parse_list_devices(listing)))
    assert [(d.engine_id, d.uuid) for d in det.devices if d.is_gpu] == [
        ("CUDA0", "GPU-c"), ("CUDA1", "GPU-a"), ("CUDA2", "GPU-b")]

"""Host collector: CPU share between scrapes, interface and disk filters, the real machine."""

from __future__ import annotations

import psutil
import pytest
from prometheus_client import CollectorRegistry

from exporter.collectors.host import HostCollector, is_virtual_interface
from testkit.fake_psutil import CpuTimes, FakePsutil, fake_is_virtual
from tests.collectors.exposition import names, promtool_findings, render, samples, types, value


def host(
    fake: FakePsutil, *, per_cpu: bool = False, include_virtual: bool = False
) -> HostCollector:
    return HostCollector(
        fake, per_cpu=per_cpu, include_virtual=include_virtual, is_virtual=fake_is_virtual
    )


def test_first_scrape_reports_the_cpu_share_since_boot() -> None:
    found = samples(render(host(FakePsutil())))
    # user 100 + system 50 busy out of 1000 seconds.
    assert value(found, "llmscope_host_cpu_utilization_ratio") == pytest.approx(0.15)


def test_later_scrapes_report_the_share_since_the_previous_scrape() -> None:
    fake = FakePsutil()
    collector = host(fake)
    render(collector)
    fake.times = CpuTimes(user=130.0, system=60.0, idle=900.0, iowait=10.0)
    # 40 busy seconds out of 40 + 50 idle + 10 iowait.
    found = samples(render(collector))
    assert value(found, "llmscope_host_cpu_utilization_ratio") == pytest.approx(0.4)


def test_guest_time_is_not_counted_twice() -> None:
    fake = FakePsutil(times=CpuTimes(user=0.0, idle=0.0))
    collector = host(fake)
    render(collector)
    # Linux counts guest time inside user time already.
    fake.times = CpuTimes(user=50.0, guest=50.0, idle=50.0)
    found = samples(render(collector))
    assert value(found, "llmscope_host_cpu_utilization_ratio") == pytest.approx(0.5)


def test_two_scrapes_within_one_tick_keep_the_previous_share() -> None:
    collector = host(FakePsutil())
    render(collector)
    found = samples(render(collector))
    assert value(found, "llmscope_host_cpu_utilization_ratio") == pytest.approx(0.15)


def test_cpu_seconds_are_exported_per_mode_as_a_counter() -> None:
    text = render(host(FakePsutil()))
    found = samples(text)
    assert types(text)["llmscope_host_cpu_seconds"] == "counter"
    assert value(found, "llmscope_host_cpu_seconds_total", mode="user") == 100.0
    assert value(found, "llmscope_host_cpu_seconds_total", mode="idle") == 850.0


def test_per_core_shares_only_behind_the_flag() -> None:
    assert "llmscope_host_cpu_core_utilization_ratio" not in names(
        samples(render(host(FakePsutil())))
    )
    found = samples(render(host(FakePsutil(), per_cpu=True)))
    assert value(found, "llmscope_host_cpu_core_utilization_ratio", cpu="0") == pytest.approx(0.18)
    assert value(found, "llmscope_host_cpu_core_utilization_ratio", cpu="1") == pytest.approx(0.12)


def test_load_memory_and_swap_in_base_units() -> None:
    found = samples(render(host(FakePsutil())))
    assert value(found, "llmscope_host_load1") == 0.5
    assert value(found, "llmscope_host_load15") == 0.125
    assert value(found, "llmscope_host_cpu_logical_cores") == 2
    assert value(found, "llmscope_host_memory_total_bytes") == 16 << 30
    assert value(found, "llmscope_host_memory_available_bytes") == 12 << 30
    assert value(found, "llmscope_host_memory_used_bytes") == 3 << 30
    assert value(found, "llmscope_host_swap_used_bytes") == 1 << 20
    assert value(found, "llmscope_host_swap_out_bytes_total") == 8192


def test_loopback_and_virtual_interfaces_are_left_out_by_default() -> None:
    found = samples(render(host(FakePsutil())))
    devices = {dict(labels)["device"] for name, labels in found if "network" in name}
    assert devices == {"eth0"}
    assert value(found, "llmscope_host_network_receive_bytes_total", device="eth0") == 5000
    assert value(found, "llmscope_host_network_transmit_errors_total", device="eth0") == 2


def test_virtual_interfaces_can_be_included() -> None:
    found = samples(render(host(FakePsutil(), include_virtual=True)))
    devices = {dict(labels)["device"] for name, labels in found if "network" in name}
    assert devices == {"eth0", "lo", "docker0"}


def test_partitions_and_loop_devices_are_left_out_of_disks() -> None:
    found = samples(render(host(FakePsutil())))
    devices = {dict(labels)["device"] for name, labels in found if "disk" in name}
    assert devices == {"nvme0n1", "sda"}
    assert value(found, "llmscope_host_disk_written_bytes_total", device="nvme0n1") == 8192
    assert value(found, "llmscope_host_disk_io_time_seconds_total", device="sda") == 0.25


def test_a_host_without_disks_or_interfaces_has_no_such_series() -> None:
    found = samples(render(host(FakePsutil(nics=None, disks=None))))
    assert not {n for n in names(found) if "disk" in n or "network" in n}
    assert "llmscope_host_memory_total_bytes" in names(found)


class Untouchable:
    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"psutil.{name} read while registering")


def test_registering_reads_nothing_from_the_host() -> None:
    CollectorRegistry().register(HostCollector(Untouchable(), per_cpu=True))


def test_host_exposition_passes_promtool() -> None:
    assert promtool_findings(render(host(FakePsutil(), per_cpu=True))) == ""


# The real machine (psutil on this Linux host).


def test_real_host_readings_are_plausible() -> None:
    found = samples(render(HostCollector(per_cpu=True)))
    total = value(found, "llmscope_host_memory_total_bytes")
    assert total == psutil.virtual_memory().total
    assert 0 < value(found, "llmscope_host_memory_available_bytes") <= total
    assert 0.0 <= value(found, "llmscope_host_cpu_utilization_ratio") <= 1.0
    assert value(found, "llmscope_host_cpu_logical_cores") == psutil.cpu_count()
    cores = {dict(labels)["cpu"] for name, labels in found if "core_utilization" in name}
    assert len(cores) == psutil.cpu_count()
    assert value(found, "llmscope_host_load1") >= 0.0


def test_real_host_leaves_out_loopback() -> None:
    found = samples(render(HostCollector()))
    devices = {dict(labels)["device"] for name, labels in found if "network" in name}
    assert "lo" not in devices
    assert is_virtual_interface("lo")
    for device in devices:
        assert not is_virtual_interface(device)


def test_real_host_exposition_passes_promtool() -> None:
    assert promtool_findings(render(HostCollector(per_cpu=True))) == ""

from napari_noise2inpaint._widgets import fields


def test_gpu_machines_start_from_the_config_defaults(monkeypatch):
    monkeypatch.setattr(fields, "available_devices", lambda: ["cuda", "cpu"])
    defaults = fields.widget_defaults()
    assert (defaults.unrolls, defaults.features, defaults.time_limit) == (5, 32, None)


def test_cpu_only_machines_start_lighter_with_a_time_limit(monkeypatch):
    monkeypatch.setattr(fields, "available_devices", lambda: ["cpu"])
    defaults = fields.widget_defaults()
    assert (defaults.unrolls, defaults.features, defaults.time_limit) == (2, 16, 120)

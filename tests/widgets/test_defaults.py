from napari_noise2inpaint.engine import devices


def fields_on(monkeypatch, viewer, available):
    from napari_noise2inpaint._widgets.fields import TrainFields

    monkeypatch.setattr(devices, "available_devices", lambda: available)
    return TrainFields(viewer)


def test_gpu_machines_start_from_the_config_defaults(monkeypatch, viewer):
    fields = fields_on(monkeypatch, viewer, ["cuda", "cpu"])
    fields.start_from.value = "scratch"
    assert (fields.unrolls.value, fields.features.value, fields.time_limit.value) == (5, 32, 0)


def test_cpu_only_machines_start_lighter_with_a_time_limit(monkeypatch, viewer):
    fields = fields_on(monkeypatch, viewer, ["cpu"])
    fields.start_from.value = "scratch"
    assert (fields.unrolls.value, fields.features.value, fields.time_limit.value) == (2, 16, 2)

"""Reference MixFormerV2 tracker: typed configuration (``config``, no torch), the tracker kind
(``kind``, no torch until a tracker is built), model (official key names, template-side cache),
checkpoint loading, the test-time tracker and its runtimes (eager, sdpa, torch.compile, ONNX
Runtime). Import the submodules; this package imports nothing so that specs resolve without torch."""

"""Qt bridges from the core to the widgets: worker tasks, supervisor, metrics, devices."""

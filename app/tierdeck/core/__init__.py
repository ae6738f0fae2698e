"""Qt-free core: everything the CLI, the GUI and the tests share."""

"""The left column: the machine box, the tier cards and their Qt-free model, the profile picker."""

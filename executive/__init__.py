"""The mission executive: mission loading and compiling, the executive node, command line."""

"""update_tool: a tools/update_*.py script that regenerates one shipped data file of the package."""

def update_tool(name):
    """`bazel run //tools:<name>` regenerates the file; `:<name>_lib` is the script for the test
    that checks the shipped file against what it derives."""
    native.py_binary(
        name = name,
        srcs = [name + ".py"],
        main = name + ".py",
        deps = [":regenerate"],
    )
    native.py_library(
        name = name + "_lib",
        srcs = [name + ".py"],
        imports = ["."],
        deps = [":regenerate"],
    )

"""python -m tensorflowjs.wizard, and the //:wizard Bazel target."""

from tensorflowjs.wizard.cli import pip_main

if __name__ == "__main__":
    pip_main()

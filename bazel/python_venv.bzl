"""A hermetic Python toolchain: a virtualenv built from a hash-locked requirements file.

Every py_binary and py_test runs on this interpreter, and the C++ extension is compiled
against its headers, so nothing from the user's site-packages leaks into builds or tests.
"""

_HINTS = {
    "ensurepip": "install the Debian package python3-venv (apt-get install python3-venv)",
    "Python.h": "install the Debian package python3-dev (apt-get install python3-dev)",
}

def _run(rctx, args, what, timeout = 600, quiet = True):
    result = rctx.execute(args, timeout = timeout, quiet = quiet)
    if result.return_code != 0:
        hint = ""
        for needle, advice in _HINTS.items():
            if needle in result.stderr or needle in result.stdout:
                hint = " Hint: " + advice + "."
        fail("python_venv: %s failed (exit %d).%s\n%s\n%s" % (
            what,
            result.return_code,
            hint,
            result.stdout[-4000:],
            result.stderr[-4000:],
        ))
    return result.stdout.strip()

def _find_python(rctx):
    wanted = rctx.os.environ.get("TFJS_PYTHON", "")
    if wanted:
        return rctx.path(wanted)
    for name in ["python%s" % v for v in rctx.attr.python_versions] + ["python3"]:
        found = rctx.which(name)
        if found:
            return found
    fail("python_venv: no python3 on PATH. Install Python %s (Debian: apt-get install python3 python3-venv python3-dev)." %
         " or ".join(rctx.attr.python_versions))

def _python_venv_impl(rctx):
    python = _find_python(rctx)
    version = _run(rctx, [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], "reading the Python version")
    if version not in rctx.attr.python_versions:
        fail("python_venv: %s is Python %s; this build is locked for Python %s. Put a supported python3 first on PATH or set TFJS_PYTHON=/path/to/python3.%s" % (
            python,
            version,
            " or ".join(rctx.attr.python_versions),
            rctx.attr.python_versions[0].split(".")[1],
        ))
    _run(rctx, [python, "-c", "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)"], "looking for Python.h")

    # The directory is named after the lock's digest: a changed lock is a new interpreter path,
    # so Bazel cannot reuse test results computed with the old packages.
    lock = rctx.path(rctx.attr.lock)
    digest = _run(rctx, ["sha256sum", str(lock)], "hashing the lock file").split(" ")[0][:16]
    venv = "venv-" + digest
    _run(rctx, [python, "-m", "venv", venv], "creating the virtualenv (python -m venv)")
    rctx.report_progress("pip install --require-hashes (the first time takes a few minutes)")
    _run(
        rctx,
        [venv + "/bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--require-hashes", "--no-deps", "-r", str(lock)],
        "pip install --require-hashes -r %s" % rctx.attr.lock,
        timeout = 3600,
    )
    interpreter = str(rctx.path(venv + "/bin/python3"))
    py_include = _run(rctx, [interpreter, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"], "finding the Python headers")
    pybind_include = _run(rctx, [interpreter, "-c", "import pybind11; print(pybind11.get_include())"], "finding the pybind11 headers")
    rctx.symlink(py_include, "python_include")
    rctx.symlink(pybind_include, "pybind11_include")
    rctx.file("BUILD", """
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

exports_files(["interpreter_path.txt"])

py_runtime(
    name = "py3_runtime",
    interpreter_path = "{interpreter}",
    python_version = "PY3",
    stub_shebang = "#!/usr/bin/env python3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":py3_runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)

cc_library(
    name = "python_headers",
    hdrs = glob(["python_include/**/*.h"]),
    includes = ["python_include"],
)

cc_library(
    name = "pybind11_headers",
    hdrs = glob(["pybind11_include/**/*.h"]),
    includes = ["pybind11_include"],
    deps = [":python_headers"],
)
""".format(interpreter = interpreter))
    rctx.file("interpreter_path.txt", interpreter + "\n")

python_venv = repository_rule(
    implementation = _python_venv_impl,
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True),
        "python_versions": attr.string_list(mandatory = True),
    },
    environ = [
        "PATH",
        "TFJS_PYTHON",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_CONSTRAINT",
    ],
)

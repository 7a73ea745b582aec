"""Where --verify gets Node and TF.js: $TFJS_NODE_MODULES, else a per-user npm ci of the
shipped lock. Without Node, or when npm fails, one line and the conversion still succeeds.
No test reaches the network: npm is either a local fake or told to stay offline."""

import filecmp
import os
import shutil
import stat
import sys

import pytest

import make_mlp
from tensorflowjs.converters import converter
from tensorflowjs.verify import node_runtime, sources
from tfjs_e2e import HERE as E2E_DIR, node_modules_dir

FLAGS = ["--verify", "--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model"]


@pytest.fixture(scope="module")
def layers_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp")
    make_mlp.write(str(path))
    return path


@pytest.fixture
def user(tmp_path, monkeypatch):
    """A user with an empty cache and no TFJS_NODE_MODULES."""
    monkeypatch.delenv(node_runtime.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _bin_dir(root, **programs) -> str:
    """A PATH directory holding exactly the given programs (name -> path of a real one or script text)."""
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, program in programs.items():
        target = bin_dir / name
        if os.path.isabs(program):
            target.symlink_to(program)
        else:
            target.write_text(program)
            target.chmod(target.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def _node() -> str:
    return os.path.realpath(shutil.which("node") or "/usr/bin/node")


def test_shipped_lock_is_the_tests_lock():
    """--verify installs exactly the TF.js the tests run."""
    for name in ("package.json", "package-lock.json"):
        assert filecmp.cmp(os.path.join(node_runtime.NPM_DIR, name), os.path.join(E2E_DIR, name), shallow=False), name


def test_without_node_one_line_and_the_conversion_stands(layers_model, user, monkeypatch, capsys):
    monkeypatch.setenv("PATH", _bin_dir(user))
    out_dir = user / "web"
    assert converter.main([*FLAGS, str(layers_model), str(out_dir)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and "Node.js >= 18 is not on PATH" in err and "conversion itself succeeded" in err
    assert (out_dir / "model.json").is_file()
    assert not os.path.exists(node_runtime.cache_dir())


def test_without_npm_one_line(layers_model, user, monkeypatch, capsys):
    monkeypatch.setenv("PATH", _bin_dir(user, node=_node()))
    assert converter.main([*FLAGS, str(layers_model), str(user / "web")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "npm is not on PATH" in err[0] and node_runtime.ENV_VAR in err[0]


def test_env_var_without_tfjs_is_one_line(layers_model, user, monkeypatch, capsys):
    monkeypatch.setenv(node_runtime.ENV_VAR, str(user))
    assert converter.main([*FLAGS, str(layers_model), str(user / "web")]) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"{node_runtime.ENV_VAR}={user} holds no" in err


def test_broken_tfjs_install_is_one_line(layers_model, user, monkeypatch, capsys):
    """Packages that are there by name but do not load: the setup, not the model, is at fault."""
    for name in node_runtime.REQUIRED_PACKAGES:
        package = user / "node_modules" / name
        package.mkdir(parents=True)
        (package / "package.json").write_text('{"name": "%s", "version": "4.22.0", "main": "missing.js"}' % name)
    monkeypatch.setenv(node_runtime.ENV_VAR, str(user / "node_modules"))
    numpy_source = sources.Source("numpy", lambda inputs, runtime: [make_mlp.predict(make_mlp.weights(), *inputs.values())])
    monkeypatch.setattr(sources, "for_input", lambda *args: numpy_source)
    assert converter.main([*FLAGS, str(layers_model), str(user / "web")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert "does not start (Error: Cannot find module" in err and "conversion itself succeeded" in err


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_failed_npm_install_says_so_and_leaves_no_partial_cache(layers_model, user, monkeypatch, capsys):
    """Real npm, offline with an empty npm cache: npm ci fails at once, as without a network."""
    monkeypatch.setenv("PATH", _bin_dir(user, node=_node(), npm=os.path.realpath(shutil.which("npm"))))
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("npm_config_cache", str(user / "npm-cache"))
    assert converter.main([*FLAGS, str(layers_model), str(user / "web")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "installing @tensorflow/tfjs 4.22.0" in err[0] and "failed: npm ci failed: npm error code ENOTCACHED" in err[0]
    assert err[0].endswith("verification skipped, the conversion itself succeeded")
    assert (user / "web" / "model.json").is_file()
    assert os.listdir(os.path.dirname(node_runtime.cache_dir())) == []


FAKE_NPM = """#!/bin/sh
# Stands in for `npm ci`: records its arguments and "installs" the tests' node_modules.
echo "$PWD $@" >> {log}
/bin/ln -s {modules} node_modules
"""


def test_first_verify_installs_into_the_user_cache_once(layers_model, user, monkeypatch, capsys):
    log = user / "npm.log"
    npm = FAKE_NPM.format(log=log, modules=node_modules_dir())
    monkeypatch.setenv("PATH", _bin_dir(user, node=_node(), npm=npm))
    for attempt in ("first", "second"):
        assert converter.main([*FLAGS, str(layers_model), str(user / attempt)]) == 0
        out, err = capsys.readouterr()
        assert "ok: TF.js matches" in err, err
        assert ("(once)... done" in err) == (attempt == "first"), err
    calls = log.read_text().splitlines()
    assert len(calls) == 1, calls
    assert calls[0].endswith(" ci --ignore-scripts --no-audit --no-fund")
    staging = calls[0].split()[0]
    assert os.path.dirname(staging) == os.path.dirname(node_runtime.cache_dir()) and not os.path.exists(staging)
    assert filecmp.cmp(os.path.join(node_runtime.cache_dir(), "package-lock.json"), os.path.join(node_runtime.NPM_DIR, "package-lock.json"))


def test_old_node_is_refused(user, monkeypatch):
    monkeypatch.setenv("PATH", _bin_dir(user, node="#!/bin/sh\necho v16.20.0\n"))
    with pytest.raises(node_runtime.RuntimeUnavailable, match="is Node v16.20.0; TF.js 4.22.0 needs Node >= 18"):
        node_runtime.find_node()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))

"""The real wizard in a pseudo-terminal, through a TF.js layers model (examples/make_mlp.py).

Dry run and real run; the printed command reproduces the wizard's output byte for byte;
the output loads and predicts in TF.js; Ctrl-C and end of input at every kind of prompt.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import make_mlp
from tensorflowjs import read_weights
from tfjs_e2e import assert_tfjs_matches
from wizard_driver import CTRL_C, CTRL_D, Wizard, assert_no_traceback, listed_files, printed_command, rerun_printed_command, tree

X = np.random.default_rng(7).normal(size=(4, make_mlp.INPUT_DIM)).astype(np.float32)

EXPECTED_COMMAND = (
    "tensorflowjs_converter --input_format=tfjs_layers_model --output_format=tfjs_layers_model"
    " '--quantize_uint8=dense_1/*' --weight_shard_size_bytes=1000 --split_weights_by_layer"
    " --metadata=notes:notes.json 'my model/model.json' 'web model'"
)


@pytest.fixture
def workdir(tmp_path):
    """A directory with a layers model in 'my model/' and a metadata file; the wizard runs here."""
    make_mlp.write(str(tmp_path / "my model"))
    (tmp_path / "notes.json").write_text(json.dumps({"trained_on": "nothing at all"}))
    return tmp_path


def _answer_everything(wizard: Wizard, output: str = "web model") -> None:
    wizard.type("Path of the model", "my model/model.json")
    wizard.yes("This is a TF.js layers model")
    wizard.choose("Convert it to", "tfjs_layers_model")
    wizard.choose("Compress (quantize) the weights?", "uint8")
    wizard.choose("Which weights?", "only names")
    wizard.type("Weight names to quantize", "dense_1/*")
    wizard.type("Shard size in bytes", "\b" * 10 + "1000")
    wizard.yes("Split the weights by layer")
    wizard.yes("Embed metadata JSON files")
    wizard.type("Metadata name", "notes")
    wizard.type("JSON file for 'notes'", "notes.json")
    wizard.type("Metadata name", "")
    wizard.type("Output directory", output)


def _weights(model_dir):
    manifest = json.load(open(os.path.join(model_dir, "model.json")))["weightsManifest"]
    return {w["name"]: w["data"] for w in read_weights.read_weights(manifest, str(model_dir), flatten=True)}


def test_dry_run_prints_the_command_and_writes_nothing(workdir):
    before = sorted(os.listdir(workdir))
    wizard = Wizard("--dryrun", cwd=workdir)
    _answer_everything(wizard)
    assert wizard.finish() == 0
    transcript = wizard.transcript
    assert printed_command(transcript) == EXPECTED_COMMAND
    assert "Convert now?" not in transcript and "Wrote" not in transcript
    assert sorted(os.listdir(workdir)) == before
    assert_no_traceback(transcript)


def test_real_run_matches_its_command_and_loads_in_tfjs(workdir):
    wizard = Wizard(cwd=workdir)
    _answer_everything(wizard)
    wizard.yes("Convert now?")
    assert wizard.finish() == 0, wizard.transcript
    transcript = wizard.transcript
    assert printed_command(transcript) == EXPECTED_COMMAND
    output = workdir / "web model"

    # The report lists exactly the files written, with their sizes and the total.
    files = tree(str(output))
    listed = listed_files(transcript)
    assert listed == {name: len(data) for name, data in files.items()}
    assert f"{sum(listed.values()):,} bytes" in transcript

    # The printed command, run by the converter, writes the very same bytes.
    result = rerun_printed_command(transcript, workdir, workdir / "again")
    assert result.returncode == 0, result.stderr
    assert tree(str(workdir / "again")) == files

    # Every option arrived: quantized dense_1 only, 1000-byte shards, a group per layer, metadata.
    model = json.loads(files["model.json"])
    groups = model["weightsManifest"]
    assert [[w["name"] for w in g["weights"]] for g in groups] == [[f"dense_{i}/kernel", f"dense_{i}/bias"] for i in (1, 2, 3)]
    assert all(w["quantization"]["dtype"] == "uint8" for w in groups[0]["weights"])
    assert not any("quantization" in w for g in groups[1:] for w in g["weights"])
    assert all(len(data) <= 1000 for name, data in files.items() if name.endswith(".bin"))
    assert model["userDefinedMetadata"] == {"notes": {"trained_on": "nothing at all"}}

    # And TF.js runs it: exactly the stored weights, close to the float32 source.
    exact = make_mlp.predict(_weights(output), X)
    assert_tfjs_matches(str(output), [X], [exact], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(exact, make_mlp.predict(make_mlp.weights(), X), atol=5e-2)
    assert_no_traceback(transcript)


def test_defaults_give_the_plain_conversion(workdir):
    wizard = Wizard(cwd=workdir)
    wizard.type("Path of the model", "my model")
    wizard.yes("This is a TF.js layers model")
    wizard.choose("Convert it to", "tfjs_layers_model")
    wizard.choose("Compress (quantize) the weights?")
    wizard.type("Shard size in bytes")
    wizard.press("Split the weights by layer", "\r")
    wizard.press("Embed metadata JSON files", "\r")
    wizard.type("Output directory", "out")
    wizard.press("Convert now?", "\r")
    assert wizard.finish() == 0, wizard.transcript
    assert printed_command(wizard.transcript) == (
        "tensorflowjs_converter --input_format=tfjs_layers_model --output_format=tfjs_layers_model 'my model' out")
    assert sorted(os.listdir(workdir / "out")) == ["group1-shard1of1.bin", "model.json"]


def test_non_empty_output_directory_is_confirmed_and_user_files_are_kept(workdir):
    mine = workdir / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("my own file")
    wizard = Wizard(cwd=workdir)
    wizard.type("Path of the model", "my model")
    wizard.yes("This is a TF.js layers model")
    wizard.choose("Convert it to", "tfjs_layers_model")
    wizard.choose("Compress (quantize) the weights?", "float16")
    wizard.choose("Which weights?", "all")
    wizard.type("Shard size in bytes")
    wizard.no("Split the weights by layer")
    wizard.no("Embed metadata JSON files")
    wizard.type("Output directory", "mine")
    wizard.no("mine is not empty (1 entry)")
    wizard.type("Output directory", "my model")  # the input itself: refused
    wizard.wait_for("That is where the input model is")
    wizard.type("Output directory", "mine")
    wizard.yes("mine is not empty")
    wizard.yes("Convert now?")
    assert wizard.finish() == 0, wizard.transcript
    assert printed_command(wizard.transcript).endswith("--quantize_float16 'my model' mine")
    assert (mine / "keep.txt").read_text() == "my own file"
    assert sorted(os.listdir(mine)) == ["group1-shard1of1.bin", "keep.txt", "model.json"]
    assert set(listed_files(wizard.transcript)) == {"group1-shard1of1.bin", "model.json"}


def test_file_outputs_ask_for_a_file_and_before_replacing_one(workdir):
    (workdir / "model.h5").write_bytes(b"someone's model")
    (workdir / "some dir").mkdir()
    wizard = Wizard("--dryrun", cwd=workdir)
    wizard.type("Path of the model", "my model")
    wizard.yes("This is a TF.js layers model")
    wizard.choose("Convert it to", "keras ")  # the HDF5 file, not keras_saved_model or keras_keras
    wizard.type("Output file (.h5)", "model.h5")
    wizard.no("model.h5 exists. Replace it?")
    wizard.type("Output file (.h5)", "some dir")
    wizard.wait_for("some dir is a directory; give the path of the file to write")
    wizard.type("Output file (.h5)", "new.h5")
    assert wizard.finish() == 0, wizard.transcript
    assert printed_command(wizard.transcript) == "tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras 'my model' new.h5"
    assert (workdir / "model.h5").read_bytes() == b"someone's model" and not (workdir / "new.h5").exists()


def test_declining_to_convert_writes_nothing(workdir):
    before = sorted(os.listdir(workdir))
    wizard = Wizard(cwd=workdir)
    _answer_everything(wizard)
    wizard.no("Convert now?")
    assert wizard.finish() == 0
    assert "Nothing was written" in wizard.transcript
    assert sorted(os.listdir(workdir)) == before


def test_graph_model_and_unknown_files_are_explained(workdir):
    (workdir / "graph").mkdir()
    (workdir / "graph" / "model.json").write_text(json.dumps({"format": "graph-model", "modelTopology": {"node": []}}))
    (workdir / "notes.txt").write_text("not a model")
    wizard = Wizard("--dryrun", cwd=workdir)
    wizard.type("Path of the model", "graph")
    wizard.wait_for("is a TF.js graph model, which cannot be converted further")
    wizard.type("Path of the model", "does not exist")
    wizard.wait_for("No such file or directory")
    wizard.child.send("\b" * 20 + "notes.txt\r")
    wizard.wait_for("notes.txt is none of the formats the converter reads")
    wizard.choose("What is the model's format?", "another path")
    wizard.type("Path of the model", "my model")
    wizard.no("This is a TF.js layers model")  # the user knows better: asked for the format
    wizard.choose("What is the model's format?", "tfjs_layers_model")
    wizard.choose("Convert it to", "tfjs_layers_model")
    wizard.choose("Compress (quantize) the weights?")
    wizard.type("Shard size in bytes")
    wizard.no("Split the weights by layer")
    wizard.no("Embed metadata JSON files")
    wizard.type("Output directory", "out")
    assert wizard.finish() == 0, wizard.transcript
    assert printed_command(wizard.transcript).endswith("'my model' out")


# --- Ctrl-C and end of input: a clean exit, no traceback, nothing written -----------------

# (prompt to interrupt at, the answers before it)
PROMPTS = {
    "path (text)": ("Path of the model", 0),
    "detected format (yes/no)": ("This is a TF.js layers model", 1),
    "output format (list)": ("Convert it to", 2),
    "compression (list)": ("Compress (quantize) the weights?", 3),
    "shard size (text)": ("Shard size in bytes", 6),
    "output directory (text)": ("Output directory", 12),
    "convert now (yes/no)": ("Convert now?", 13),
}


def _answer_up_to(wizard: Wizard, count: int) -> None:
    steps = [
        lambda: wizard.type("Path of the model", "my model/model.json"),
        lambda: wizard.yes("This is a TF.js layers model"),
        lambda: wizard.choose("Convert it to", "tfjs_layers_model"),
        lambda: wizard.choose("Compress (quantize) the weights?", "uint8"),
        lambda: wizard.choose("Which weights?", "only names"),
        lambda: wizard.type("Weight names to quantize", "dense_1/*"),
        lambda: wizard.type("Shard size in bytes", "\b" * 10 + "1000"),
        lambda: wizard.yes("Split the weights by layer"),
        lambda: wizard.yes("Embed metadata JSON files"),
        lambda: wizard.type("Metadata name", "notes"),
        lambda: wizard.type("JSON file for 'notes'", "notes.json"),
        lambda: wizard.type("Metadata name", ""),
        lambda: wizard.type("Output directory", "web model"),
    ]
    for step in steps[:count]:
        step()


@pytest.mark.parametrize("key,status,message", [(CTRL_C, 130, "Cancelled: nothing was written."), (CTRL_D, 1, "End of input: nothing was written.")], ids=["ctrl-c", "eof"])
@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_interrupt_at_any_prompt_exits_cleanly(workdir, prompt, key, status, message):
    question, answered = PROMPTS[prompt]
    before = sorted(os.listdir(workdir))
    wizard = Wizard(cwd=workdir)
    _answer_up_to(wizard, answered)
    wizard.press(question, key)
    assert wizard.finish() == status, wizard.transcript
    assert message in wizard.transcript
    assert_no_traceback(wizard.transcript)
    assert sorted(os.listdir(workdir)) == before


def test_needs_a_terminal_and_says_so(workdir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-m", "tensorflowjs.wizard"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=workdir, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["tensorflowjs_wizard: error: the wizard needs an interactive terminal; in scripts, use tensorflowjs_converter"]


def test_help_mentions_dryrun(workdir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, "-m", "tensorflowjs.wizard", "--help"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and "--dryrun" in result.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))

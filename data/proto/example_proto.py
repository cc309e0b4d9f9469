"""The Python side of data/proto/example.proto, for the test scripts and the benchmark peer: compiles the
schema with protoc into a folder and imports the generated module (its classes: SequenceExample, ...).
"""
import importlib
import shutil
import subprocess
import sys
from pathlib import Path


def load_messages(proto_file, work_dir):
    protoc = shutil.which("protoc")
    if protoc is None:
        sys.exit("protoc is not on PATH; install protobuf-compiler")
    proto = Path(proto_file).resolve()
    # example.proto lives in data/proto/ and is compiled with the repository root as import path.
    root = proto.parents[2]
    subprocess.run([protoc, f"-I{root}", f"--python_out={work_dir}", str(proto.relative_to(root))], check=True)
    sys.path.insert(0, str(work_dir))
    return importlib.import_module(".".join(proto.relative_to(root).with_suffix("").parts) + "_pb2")

"""Writes tests/data/nextvlad_golden.safetensors: NeXtVLAD forward outputs, losses and gradients from the
PyTorch reference (nextvlad_torch.py) on seeded random weights and inputs, for the C++ golden test
(tests/unit/test_nextvlad_golden.cpp).

Usage: /usr/bin/python3 bench/reference/make_nextvlad_golden.py [output path]

Five cases share the file: "tiny" and "medium" (NeXtVLAD, logistic classifier), "moe" (NeXtVLAD with the
mixture-of-experts classifier), "netvlad" (NetVLAD aggregation) and "mix" (an ensemble of 3 tiny-sized
NeXtVLADs under the mixing gate); each tensor is named "<case>:<kind>.<name>":
  <case>:param.<name>   weights and batch-norm buffers before the step (the engine's names and layouts;
                        mix: branch{m}.<single-model name> and mix_gate.*)
  <case>:input.*        frames_rgb [B, M, N_rgb], frames_audio [B, M, N_audio], frame_counts (I32),
                        labels [B, C], teacher_encoding [B, E], teacher_logits [B, C]
  <case>:output.*       logits, encoding, hidden of the training-mode forward pass (mix: the mixture's
                        logits, the concatenated encodings and hiddens, and also branch_logits.<m> [B, C]
                        and mixture_weights [B, M], the gate's softmax)
  <case>:loss.*         label, representation and prediction.<kind>.T<temperature> (mix: of the mixture's
                        outputs), and for mix the ensemble terms at the metadata's T and w_kl:
                        ensemble_label (sum of the branches' label losses), ensemble_kl (sum over the
                        branches of KL(p_e || p_m), unweighted) and ensemble = ensemble_label + w_kl * ensemble_kl
  <case>:grad.<name>    gradient of label + representation + prediction.categorical-kl.T1 (mix: + ensemble)
                        for every trainable parameter and for input.frames_rgb / input.frames_audio
  <case>:running.<name> batch-norm running statistics after the forward pass
The metadata holds each case's config as "<case>.<field>" strings (ensemble_size among them), for mix also
"mix.ensemble_temperature" and "mix.ensemble_kl_weight", "cases" (the single-model cases) and
"ensemble_cases" (mix): the C++ golden test requires "cases" to be exactly the four single models, so the
ensemble case is listed apart until that test runs it. Everything is computed in float64 from the
float32-rounded weights and inputs and stored as float32.
"""

import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nextvlad_torch as ref  # noqa: E402

CASES = {
    # padded frames excluded from the cluster-BN statistics (the engine's default)
    "tiny": (ref.Config(rgb_feature_size=6, audio_feature_size=4, max_frames=5, cluster_size=4, groups=2,
                        expansion=2, hidden_size=8, gating_reduction=2, num_classes=5),
             [5, 2, 1], 1234),
    # padded frames included (the TF code's behaviour), other BN constants
    "medium": (ref.Config(rgb_feature_size=32, audio_feature_size=8, max_frames=9, cluster_size=8, groups=4,
                          expansion=2, hidden_size=16, gating_reduction=4, num_classes=11,
                          bn_momentum=0.9, bn_epsilon=1e-2, bn_excludes_padding=False),
               [7, 3, 5, 1], 5678),
    # the mixture-of-experts classifier with 3 experts per class
    "moe": (ref.Config(rgb_feature_size=6, audio_feature_size=4, max_frames=5, cluster_size=4, groups=2,
                       expansion=2, hidden_size=8, gating_reduction=2, num_classes=5,
                       classifier="moe", moe_mixtures=3),
            [4, 3, 5], 4321),
    # NetVLAD blocks (rgb K=4, audio K=2) under the same head; a student-length input
    "netvlad": (ref.Config(rgb_feature_size=8, audio_feature_size=4, max_frames=8, cluster_size=4, groups=2,
                           expansion=2, hidden_size=8, gating_reduction=2, num_classes=6,
                           aggregation="netvlad"),
                [6, 2, 4], 8765),
    # an ensemble of 3 NeXtVLADs of the tiny case's sizes under the mixing gate, trained with its on-the-fly
    # distillation; a video with a single frame exercises the gate's frame mean over real frames only
    "mix": (ref.Config(rgb_feature_size=6, audio_feature_size=4, max_frames=5, cluster_size=4, groups=2,
                       expansion=2, hidden_size=8, gating_reduction=2, num_classes=5, ensemble_size=3),
            [5, 2, 1], 2468),
}
# The input's frame axis (medium and netvlad: shorter than max_frames, as a student's).
FRAMES = {"tiny": 5, "medium": 7, "moe": 5, "netvlad": 6, "mix": 5}
TRAINED_PREDICTION_LOSS = "prediction.categorical-kl.T1"
# The ensemble terms' temperature and KL weight in the ensemble cases (the engine's defaults).
ENSEMBLE_TEMPERATURE = 3.0
ENSEMBLE_KL_WEIGHT = 9.0


def as_float32_then_64(t):
    return t.to(torch.float32).to(torch.float64)


def random_parameters(config, gen):
    params = {}
    for name, (shape, kind) in ref.parameter_shapes(config).items():
        if kind == "weight":
            fan_in = shape[1] if name.endswith(".weight") else shape[0]
            value = torch.randn(shape, generator=gen, dtype=torch.float64) / fan_in ** 0.5
        elif kind == "bias":
            value = torch.rand(shape, generator=gen, dtype=torch.float64) * 0.6 - 0.3
        elif kind == "gamma":
            value = torch.rand(shape, generator=gen, dtype=torch.float64) * 0.6 + 0.7
        elif kind == "mean":
            value = torch.randn(shape, generator=gen, dtype=torch.float64) * 0.1
        else:
            value = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5
        params[name] = as_float32_then_64(value).requires_grad_(ref.is_trainable(name))
    return params


def run_case(case, config, frame_counts, seed):
    gen = torch.Generator().manual_seed(seed)
    params = random_parameters(config, gen)
    initial = {name: value.detach().clone() for name, value in params.items()}
    batch, frames = len(frame_counts), FRAMES[case]
    randn = lambda *shape, scale=1.0: as_float32_then_64(torch.randn(shape, generator=gen, dtype=torch.float64) * scale)
    inputs = {
        "frames_rgb": randn(batch, frames, config.rgb_feature_size).requires_grad_(),
        "frames_audio": randn(batch, frames, config.audio_feature_size).requires_grad_(),
        "labels": (torch.rand(batch, config.num_classes, generator=gen, dtype=torch.float64) < 0.3).double(),
        "teacher_encoding": randn(batch, config.encoding_size()),
        "teacher_logits": randn(batch, config.num_classes, scale=2.0),
    }

    outputs = ref.forward(params, config, inputs["frames_rgb"], inputs["frames_audio"], frame_counts)
    losses = {
        "label": ref.label_loss(outputs["logits"], inputs["labels"]),
        "representation": ref.representation_loss(inputs["teacher_encoding"], outputs["encoding"]),
    }
    for kind in ref.PREDICTION_LOSSES:
        for temperature in ref.TEMPERATURES:
            losses["prediction.%s.T%d" % (kind, temperature)] = ref.prediction_loss(
                inputs["teacher_logits"], outputs["logits"], kind, temperature)
    objective = losses["label"] + losses["representation"] + losses[TRAINED_PREDICTION_LOSS]
    if config.ensemble_size > 1:
        # The ensemble's gradients are of the same objective on the mixture's outputs plus the ensemble terms
        # L_ens = sum_m label(z_m) + w_kl * sum_m KL(p_e || p_m) at T = 3, w_kl = 9 (no stop-gradient on p_e),
        # as a training step adds them to the total.
        ensemble = ref.ensemble_loss(outputs["logits"], outputs["branch_logits"], inputs["labels"],
                                     ENSEMBLE_TEMPERATURE, ENSEMBLE_KL_WEIGHT)
        losses["ensemble_label"] = ensemble["label"]
        losses["ensemble_kl"] = ensemble["kl"]
        losses["ensemble"] = ensemble["total"]
        objective = objective + ensemble["total"]
    objective.backward()

    tensors = {}
    for name, value in initial.items():
        tensors["param." + name] = value
    for name, value in inputs.items():
        tensors["input." + name] = value.detach()
    tensors["input.frame_counts"] = torch.tensor(frame_counts, dtype=torch.int32)
    for name, value in outputs.items():
        if name == "branch_logits":
            for m, branch in enumerate(value):
                tensors["output.branch_logits.%d" % m] = branch.detach()
        else:
            tensors["output." + name] = value.detach()
    for name, value in losses.items():
        tensors["loss." + name] = value.detach().reshape(1)
    for name, value in params.items():
        if ref.is_trainable(name):
            tensors["grad." + name] = value.grad
        else:
            tensors["running." + name] = value.detach()
    for name in ("frames_rgb", "frames_audio"):
        tensors["grad.input." + name] = inputs[name].grad
    return {case + ":" + name: value for name, value in tensors.items()}


SAFETENSORS_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}


def write_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 little-endian header length, JSON header, raw little-endian data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        array = tensor.numpy()
        array = np.ascontiguousarray(array.astype(np.float32) if array.dtype == np.float64 else array)
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    os.replace(temporary, path)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "nextvlad_golden.safetensors")
    single = [case for case, (config, _, _) in CASES.items() if config.ensemble_size == 1]
    ensembles = [case for case in CASES if case not in single]
    tensors, metadata = {}, {"cases": ",".join(single), "ensemble_cases": ",".join(ensembles),
                             "trained_prediction_loss": TRAINED_PREDICTION_LOSS}
    for case, (config, frame_counts, seed) in CASES.items():
        tensors.update(run_case(case, config, frame_counts, seed))
        metadata.update({case + "." + key: value for key, value in config.metadata().items()})
        if config.ensemble_size > 1:
            metadata[case + ".ensemble_temperature"] = str(ENSEMBLE_TEMPERATURE)
            metadata[case + ".ensemble_kl_weight"] = str(ENSEMBLE_KL_WEIGHT)
    write_safetensors(path, tensors, metadata)
    print("%s: %d tensors, %d bytes" % (path, len(tensors), os.path.getsize(path)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The PyTorch peer of `fewerframes bench train`: the same NeXtVLAD model and the same training step, written
the way a PyTorch user would, run eagerly and under torch.compile on the same device, batch sizes and frame
counts, and timed the same way.

One step, as the engine's: copy the batch's uint8 frames (and labels) to the device, dequantise them there,
forward, losses, backward, gradient preprocessing (L2 on the classifier, then a per-tensor clip, as the
engine's Adam does), Adam (the fused CUDA kernel on a GPU: PyTorch's fastest), and read the loss back to the
host (the engine checks every step's loss is finite, which waits for the device the same way).
  teacher  label loss, every frame (padded to max_frames)
  student  serial distillation: a frozen teacher reads every frame in inference mode without gradients; the
           student reads k frames and learns from label + prediction (categorical KL) + representation loss
The math is that of nextvlad_torch.py (the golden test's reference), with the engine's masked batch norm on
the cluster logits and dropout on the encoding; the other batch norms are F.batch_norm.

What is not timed: reading records. The batches are random uint8 frames already in pinned host memory
(frame counts drawn as the synthetic data's), so the peer is spared the data path the engine's figures
include; ratios against it are conservative for the engine.

    bench_train_torch.py [--device cuda] [--batch-sizes 160,1024] [--k-values 10,30] [--impls eager,compile]
                         [--model-config JSON] [--steps 20] [--warmup 3] [--precision fp32|tf32|bf16] ...

Prints JSON lines on stdout: one {"kind": "info", ...}, then per case one {"kind": "result", ...} or
{"kind": "error", ...}; {"kind": "unavailable", "reason": ...} alone when PyTorch cannot be imported or
the device is missing. Progress goes to stderr.
"""
import argparse
import gc
import json
import math
import sys
import time
from dataclasses import fields
from pathlib import Path


def emit(record):
    print(json.dumps(record), flush=True)


def progress(text):
    print("bench_train_torch: " + text, file=sys.stderr, flush=True)


def int_list(text):
    return [int(v) for v in text.split(",") if v]


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"],
                   help="fp32: no TF32; tf32: TF32 tensor cores for float32 GEMMs; bf16: autocast to bfloat16")
    p.add_argument("--model-config", default="{}",
                   help="the engine's NeXtVladConfig as JSON (missing keys: the paper's full model)")
    p.add_argument("--models", default="teacher,student")
    p.add_argument("--batch-sizes", type=int_list, default=[160, 1024])
    p.add_argument("--k-values", type=int_list, default=[10, 30])
    p.add_argument("--impls", default="eager,compile")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-frames", type=int, default=60, help="shortest video (frame counts are uniform)")
    p.add_argument("--loss-weights", default="1,1,1", help="label,prediction,representation (student)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--l2", type=float, default=1e-5)
    p.add_argument("--clip-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


# ---- the model, written for speed in PyTorch but computing what the engine computes


def dequantize(frames):
    """uint8 -> float32 as the YouTube-8M starter code: q * 4/255 + (4/512 - 2)."""
    return frames.float() * (4.0 / 255.0) + (4.0 / 512.0 - 2.0)


def masked_batch_norm(x, row_mask, params, prefix, config):
    """Training-mode batch norm over the rows of x [rows, C] whose mask is 1 (the engine's cluster BN)."""
    import torch
    weights = row_mask.unsqueeze(1)
    count = row_mask.sum()
    mean = (x * weights).sum(0) / count
    centred = x - mean
    variance = (centred * centred * weights).sum(0) / count
    with torch.no_grad():
        m = config.bn_momentum
        params[prefix + ".running_mean"].mul_(m).add_((1 - m) * mean)
        params[prefix + ".running_var"].mul_(m).add_((1 - m) * variance)
    return centred * torch.rsqrt(variance + config.bn_epsilon) * params[prefix + ".weight"] + params[prefix + ".bias"]


def batch_norm(x, params, prefix, config, training):
    import torch.nn.functional as F
    return F.batch_norm(x, params[prefix + ".running_mean"], params[prefix + ".running_var"],
                        params[prefix + ".weight"], params[prefix + ".bias"], training,
                        1.0 - config.bn_momentum, config.bn_epsilon)


def nextvlad_block(frames, mask, params, prefix, clusters, groups, config, training):
    """frames [B, M, N] -> [B, D_g * K] (feature index d * K + k, as the engine)."""
    import torch
    import torch.nn.functional as F
    p = lambda name: params[prefix + "." + name]
    batch, length, _ = frames.shape
    expanded = F.linear(frames, p("expansion.weight"), p("expansion.bias"))  # [B, M, E]
    group_dim = expanded.shape[-1] // groups
    attention = torch.sigmoid(F.linear(expanded, p("attention.weight"), p("attention.bias")))  # [B, M, G]
    attention = attention * mask.unsqueeze(-1)
    logits = expanded.reshape(batch * length, -1) @ p("cluster_weights")  # [B*M, G*K]
    if training and config.bn_excludes_padding:
        logits = masked_batch_norm(logits, mask.reshape(-1), params, prefix + ".cluster_bn", config)
    else:
        logits = batch_norm(logits, params, prefix + ".cluster_bn", config, training)
    weight = torch.softmax(logits.reshape(batch, length, groups, clusters), dim=-1) * attention.unsqueeze(-1)
    weight = weight.reshape(batch, length * groups, clusters)
    slices = expanded.reshape(batch, length * groups, group_dim)
    residual_sum = torch.bmm(slices.transpose(1, 2), weight)  # [B, D_g, K]
    vlad = residual_sum - weight.sum(1).unsqueeze(1) * p("cluster_weights2").unsqueeze(0)
    vlad = F.normalize(vlad, p=2.0, dim=1, eps=1e-6)  # x / max(|x|, 1e-6) = x / sqrt(max(|x|^2, 1e-12))
    return batch_norm(vlad.reshape(batch, group_dim * clusters), params, prefix + ".vlad_bn", config, training)


def forward(params, config, rgb, audio, frame_counts, training):
    """Returns (logits, encoding); the encoding is taken before dropout, as the engine's."""
    import torch
    import torch.nn.functional as F
    frames = rgb.shape[1]
    mask = (torch.arange(frames, device=rgb.device).unsqueeze(0) < frame_counts.unsqueeze(1)).to(rgb.dtype)
    encodings = [nextvlad_block(x, mask, params, prefix, clusters, groups, config, training)
                 for (prefix, _, clusters, groups), x in zip(config.block_shapes(), (rgb, audio))]
    encoding = torch.cat(encodings, dim=1)
    dropped = F.dropout(encoding, config.dropout_rate, training) if config.dropout_rate > 0 else encoding
    hidden = batch_norm(F.linear(dropped, params["hidden.weight"]), params, "hidden_bn", config, training)
    squeezed = torch.relu(batch_norm(F.linear(hidden, params["gating.fc1.weight"]), params, "gating.bn", config,
                                     training))
    gated = hidden * torch.sigmoid(F.linear(squeezed, params["gating.fc2.weight"]))
    return F.linear(gated, params["classifier.weight"], params["classifier.bias"]), encoding


def label_loss(logits, labels):
    import torch.nn.functional as F
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / logits.shape[0]


def make_teacher_step(config):
    def step(params, rgb, audio, counts, labels):
        logits, _ = forward(params, config, dequantize(rgb), dequantize(audio), counts, True)
        return label_loss(logits, labels)
    return step


def make_student_step(config, reference, weights, temperature):
    import torch

    def step(params, teacher_params, full_rgb, full_audio, full_counts, rgb, audio, counts, labels):
        with torch.no_grad():
            teacher_logits, teacher_encoding = forward(teacher_params, config, dequantize(full_rgb),
                                                       dequantize(full_audio), full_counts, False)
        logits, encoding = forward(params, config, dequantize(rgb), dequantize(audio), counts, True)
        total = weights[0] * label_loss(logits, labels)
        if weights[1] > 0:
            total = total + weights[1] * reference.prediction_loss(teacher_logits, logits, "categorical-kl",
                                                                   temperature)
        if weights[2] > 0:
            total = total + weights[2] * reference.representation_loss(teacher_encoding, encoding)
        return total
    return step


# ---- parameters, optimizer, batches


def initial_parameters(config, reference, device, seed, trainable):
    import torch
    generator = torch.Generator().manual_seed(seed)
    params = {}
    for name, (shape, kind) in reference.parameter_shapes(config).items():
        if kind == "weight":
            fan_in = shape[0] if "cluster_weights" in name else shape[1]
            value = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
        elif kind in ("gamma", "var"):
            value = torch.ones(shape)
        else:
            value = torch.zeros(shape)
        params[name] = value.to(device).requires_grad_(trainable and reference.is_trainable(name))
    return params


class GradientPreprocessing:
    """The engine's Adam preprocessing: g += l2 * p on the classifier, then g *= clip / max(|g|, clip) per
    tensor (tf.clip_by_norm), both with foreach kernels and no host synchronisation."""

    def __init__(self, params, l2, clip_norm):
        self.regularised = [p for name, p in params.items() if name.startswith("classifier.")]
        self.trainable = [p for p in params.values() if p.requires_grad]
        self.l2, self.clip_norm = l2, clip_norm

    def __call__(self):
        import torch
        if self.l2 > 0:
            torch._foreach_add_([p.grad for p in self.regularised], self.regularised, alpha=self.l2)
        if self.clip_norm > 0:
            grads = [p.grad for p in self.trainable]
            if hasattr(torch, "_foreach_clamp_min_"):
                norms = torch._foreach_norm(grads)
                torch._foreach_clamp_min_(norms, self.clip_norm)
                factors = torch._foreach_reciprocal(norms)
            else:  # PyTorch before 2.0: one norm per tensor
                factors = [1.0 / torch.clamp(grad.norm(), min=self.clip_norm) for grad in grads]
            for grad, factor in zip(grads, factors):
                grad.mul_(factor * self.clip_norm)


def host_batch(config, batch, frames, min_frames, generator, pin):
    """Random uint8 frames [B, frames, N] (zero past each video's count), int32 counts, multi-hot labels."""
    import torch
    counts = torch.randint(min(min_frames, frames), frames + 1, (batch,), generator=generator, dtype=torch.int32)
    valid = (torch.arange(frames).unsqueeze(0) < counts.unsqueeze(1)).unsqueeze(-1)
    rgb = torch.randint(0, 256, (batch, frames, config.rgb_feature_size), generator=generator, dtype=torch.uint8)
    audio = torch.randint(0, 256, (batch, frames, config.audio_feature_size), generator=generator,
                          dtype=torch.uint8)
    rgb, audio = rgb * valid, audio * valid
    labels = torch.zeros(batch, config.num_classes)
    labels.scatter_(1, torch.randint(0, config.num_classes, (batch, 3), generator=generator), 1.0)
    tensors = [rgb, audio, counts, labels]
    return [t.pin_memory() for t in tensors] if pin else tensors


# ---- one measured case


def run_case(args, torch, reference, config, device, model, k, batch, impl):
    is_cuda = device.type == "cuda"
    synchronize = torch.cuda.synchronize if is_cuda else (lambda: None)
    generator = torch.Generator().manual_seed(args.seed + 1)
    params = initial_parameters(config, reference, device, args.seed, True)
    trainable = [p for p in params.values() if p.requires_grad]
    preprocess_gradients = GradientPreprocessing(params, args.l2, args.clip_norm)
    optimizer = torch.optim.Adam(trainable, lr=args.learning_rate, betas=(0.9, 0.999), eps=1e-8,
                                 **({"fused": True} if is_cuda else {"foreach": True}))
    # Two distinct host batches, used in turn, so no step reuses the previous step's buffers.
    full = config.max_frames
    if model == "teacher":
        step = make_teacher_step(config)
        hosts = [host_batch(config, batch, full, args.min_frames, generator, is_cuda) for _ in range(2)]
        extra = []
    else:
        weights = [float(w) for w in args.loss_weights.split(",")]
        step = make_student_step(config, reference, weights, args.temperature)
        hosts = []
        for _ in range(2):
            full_view = host_batch(config, batch, full, args.min_frames, generator, is_cuda)
            sampled = host_batch(config, batch, k, k, generator, is_cuda)[:3]
            hosts.append(full_view[:3] + sampled + full_view[3:])
        extra = [initial_parameters(config, reference, device, args.seed + 7, False)]
    if impl == "compile":
        if not hasattr(torch, "compile"):
            raise RuntimeError(f"torch.compile needs PyTorch 2.0 or newer, this is {torch.__version__}")
        torch._dynamo.reset()
        step = torch.compile(step)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if args.precision == "bf16" else None)

    first_step_s = 0.0
    loss_value = float("nan")
    start = None
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            synchronize()
            start = time.perf_counter()
        began = time.perf_counter()
        inputs = [t.to(device, non_blocking=True) for t in hosts[i % 2]]
        for p in trainable:
            p.grad = None
        if autocast is not None:
            with autocast:
                loss = step(params, *extra, *inputs)
        else:
            loss = step(params, *extra, *inputs)
        loss.backward()
        preprocess_gradients()
        optimizer.step()
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise RuntimeError(f"loss is not finite at step {i + 1}: {loss_value}")
        if i == 0:
            first_step_s = time.perf_counter() - began
    synchronize()
    seconds = time.perf_counter() - start
    result = {"kind": "result", "impl": impl, "model": model, "k": k if model == "student" else None,
              "batch": batch, "frames": k if model == "student" else full, "steps": args.steps,
              "ms_per_step": seconds * 1e3 / args.steps, "videos_per_s": batch * args.steps / seconds,
              "first_step_s": first_step_s, "loss": loss_value}
    if is_cuda:
        result["peak_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def main():
    args = parse_arguments()
    try:
        import torch
    except ImportError as error:
        emit({"kind": "unavailable", "reason": f"{sys.executable} cannot import torch ({error})"})
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import nextvlad_torch as reference

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        emit({"kind": "unavailable", "reason": f"torch {torch.__version__} sees no CUDA device"})
        return 0
    known = {f.name for f in fields(reference.Config)}
    given = {key: value for key, value in json.loads(args.model_config).items() if key in known}
    full_model = dict(rgb_feature_size=1024, audio_feature_size=128, max_frames=300, cluster_size=128, groups=8,
                      expansion=2, hidden_size=2048, gating_reduction=8, num_classes=3862, dropout_rate=0.5)
    config = reference.Config(**{**full_model, **given})
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    torch.set_float32_matmul_precision("high" if args.precision == "tf32" else "highest")
    info = {"kind": "info", "torch": torch.__version__, "device": str(device), "precision": args.precision,
            "threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    emit(info)

    cases = []
    for model in args.models.split(","):
        for k in ([0] if model == "teacher" else args.k_values):
            for batch in args.batch_sizes:
                for impl in args.impls.split(","):
                    cases.append((model, k, batch, impl))
    for model, k, batch, impl in cases:
        label = f"{impl} {model}" + (f" k={k}" if model == "student" else "") + f" batch {batch}"
        progress(label + " ...")
        try:
            result = run_case(args, torch, reference, config, device, model, k, batch, impl)
            progress(f"{label}: {result['ms_per_step']:.2f} ms/step, {result['videos_per_s']:.0f} videos/s")
            emit(result)
        except Exception as error:  # an out-of-memory case must not end the others
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            progress(f"{label}: failed: {message}")
            emit({"kind": "error", "impl": impl, "model": model, "k": k if model == "student" else None,
                  "batch": batch, "error": message})
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""NeXtVLAD video classifier and the distillation losses in plain PyTorch, written from the model description
(shared/reference/paper-and-nextvlad.md sections 2.1-2.2 and 3.4-3.5), as the reference of the golden test.
The model's two options are here too: NetVLAD aggregation instead of NeXtVLAD (section 6.2) and the
YouTube-8M starter code's mixture-of-experts classifier instead of the logistic one. With ensemble_size
M > 1 the model is the NeXtVLAD paper's mixture (section 2.4, MixNeXtVladModel): M whole single models
("branch{m}." names) under a softmax gate over the frame mean ("mix_gate." names), with its on-the-fly
distillation loss (ensemble_loss).

Parameters live in a flat dict keyed by the engine's checkpoint names, in the engine's layouts (linear
weights [out, in], "cluster_weights" [lambda*N, G*K], "cluster_weights2" [D_g, K]), so one set of tensors
drives both implementations. Batch-norm training statistics are the biased ones over the rows whose mask
is 1; the running averages are updated in place as running = momentum * running + (1 - momentum) * batch.
Dropout is not modelled: the golden run uses rate 0.
"""

from dataclasses import dataclass, asdict, replace

import torch
import torch.nn.functional as F


@dataclass
class Config:
    rgb_feature_size: int
    audio_feature_size: int
    max_frames: int
    cluster_size: int
    groups: int
    expansion: int
    hidden_size: int
    gating_reduction: int
    num_classes: int
    bn_momentum: float = 0.999
    bn_epsilon: float = 1e-3
    bn_excludes_padding: bool = True
    dropout_rate: float = 0.0
    aggregation: str = "nextvlad"  # or "netvlad"
    classifier: str = "logistic"   # or "moe"
    moe_mixtures: int = 2
    ensemble_size: int = 1  # M: 1 is the single model; M > 1 the gated mixture of M branches

    def block_shapes(self):
        """(prefix, N, K, G) of the rgb and the audio block: the audio block has K/2 clusters, G/2 groups."""
        return [("video_vlad", self.rgb_feature_size, self.cluster_size, self.groups),
                ("audio_vlad", self.audio_feature_size, self.cluster_size // 2, self.groups // 2)]

    def branch_encoding_size(self):
        """One single model's encoding (the input of its hidden FC)."""
        if self.aggregation == "netvlad":
            return sum(k * n for _, n, k, _ in self.block_shapes())
        return sum(k * self.expansion * n // g for _, n, k, g in self.block_shapes())

    def encoding_size(self):
        """The model's encoding output: an ensemble's is its branches' concatenated."""
        return self.ensemble_size * self.branch_encoding_size()

    def branch_config(self):
        """The config of one branch: the same model with ensemble_size 1."""
        return replace(self, ensemble_size=1)

    def metadata(self):
        return {key: (str(int(value)) if isinstance(value, bool) else str(value))
                for key, value in asdict(self).items()}


def parameter_shapes(config):
    """Every trainable tensor and batch-norm buffer: name -> (shape, kind), kind in weight/bias/gamma/mean/var.
    An ensemble lists branch0.* .. branch{M-1}.* (each a single model's names) and then mix_gate.*."""
    if config.ensemble_size > 1:
        shapes = {}
        single = parameter_shapes(config.branch_config())
        for m in range(config.ensemble_size):
            shapes.update({branch_prefix(m) + name: value for name, value in single.items()})
        frame = config.rgb_feature_size + config.audio_feature_size
        shapes["mix_gate.bn.weight"] = ((frame,), "gamma")
        shapes["mix_gate.bn.bias"] = ((frame,), "bias")
        shapes["mix_gate.bn.running_mean"] = ((frame,), "mean")
        shapes["mix_gate.bn.running_var"] = ((frame,), "var")
        shapes["mix_gate.weight"] = ((config.ensemble_size, frame), "weight")
        shapes["mix_gate.bias"] = ((config.ensemble_size,), "bias")
        return shapes
    shapes = {}

    def batch_norm(prefix, channels):
        shapes[prefix + ".weight"] = ((channels,), "gamma")
        shapes[prefix + ".bias"] = ((channels,), "bias")
        shapes[prefix + ".running_mean"] = ((channels,), "mean")
        shapes[prefix + ".running_var"] = ((channels,), "var")

    for prefix, n, k, g in config.block_shapes():
        if config.aggregation == "netvlad":
            shapes[prefix + ".cluster_weights"] = ((n, k), "weight")
            batch_norm(prefix + ".cluster_bn", k)
            shapes[prefix + ".cluster_weights2"] = ((n, k), "weight")
            continue
        e = config.expansion * n
        shapes[prefix + ".expansion.weight"] = ((e, n), "weight")
        shapes[prefix + ".expansion.bias"] = ((e,), "bias")
        shapes[prefix + ".attention.weight"] = ((g, e), "weight")
        shapes[prefix + ".attention.bias"] = ((g,), "bias")
        shapes[prefix + ".cluster_weights"] = ((e, g * k), "weight")
        batch_norm(prefix + ".cluster_bn", g * k)
        shapes[prefix + ".cluster_weights2"] = ((e // g, k), "weight")
        batch_norm(prefix + ".vlad_bn", k * (e // g))
    h, c = config.hidden_size, config.num_classes
    squeezed = h // config.gating_reduction
    shapes["hidden.weight"] = ((h, config.branch_encoding_size()), "weight")
    batch_norm("hidden_bn", h)
    shapes["gating.fc1.weight"] = ((squeezed, h), "weight")
    batch_norm("gating.bn", squeezed)
    shapes["gating.fc2.weight"] = ((h, squeezed), "weight")
    if config.classifier == "moe":
        m = config.moe_mixtures
        shapes["classifier.gate.weight"] = ((c * (m + 1), h), "weight")
        shapes["classifier.gate.bias"] = ((c * (m + 1),), "bias")
        shapes["classifier.experts.weight"] = ((c * m, h), "weight")
        shapes["classifier.experts.bias"] = ((c * m,), "bias")
    else:
        shapes["classifier.weight"] = ((c, h), "weight")
        shapes["classifier.bias"] = ((c,), "bias")
    return shapes


def branch_prefix(m):
    return "branch%d." % m


def is_trainable(name):
    return not (name.endswith(".running_mean") or name.endswith(".running_var"))


def frame_mask(frame_counts, frames, dtype):
    """[B, M]: 1 where the frame index is below the video's frame count."""
    counts = torch.as_tensor(frame_counts).reshape(-1, 1)
    return (torch.arange(frames).reshape(1, -1) < counts).to(dtype)


def batch_norm_train(x, params, prefix, config, row_mask=None):
    """Training-mode batch norm over the rows of x [rows, channels], statistics from the masked rows only."""
    weights = torch.ones(x.shape[0], 1, dtype=x.dtype) if row_mask is None else row_mask.reshape(-1, 1)
    count = weights.sum()
    mean = (weights * x).sum(0) / count
    variance = (weights * (x - mean) ** 2).sum(0) / count  # biased
    with torch.no_grad():
        m = config.bn_momentum
        params[prefix + ".running_mean"].mul_(m).add_((1 - m) * mean)
        params[prefix + ".running_var"].mul_(m).add_((1 - m) * variance)
    normalised = (x - mean) * torch.rsqrt(variance + config.bn_epsilon)
    return normalised * params[prefix + ".weight"] + params[prefix + ".bias"]


def nextvlad_block(frames, mask, params, prefix, clusters, groups, config):
    """frames [B, M, N] -> [B, D_g * K], feature index d * K + k."""
    batch, length, _ = frames.shape
    p = lambda name: params[prefix + "." + name]
    # Expansion to lambda*N features; the expanded frame splits into G slices of D_g features.
    expanded = F.linear(frames, p("expansion.weight"), p("expansion.bias"))  # [B, M, E]
    group_dim = expanded.shape[-1] // groups
    slices = expanded.reshape(batch, length, groups, group_dim)             # [B, M, G, D_g]
    # Per-group sigmoid attention, 0 on padded frames.
    attention = torch.sigmoid(F.linear(expanded, p("attention.weight"), p("attention.bias")))  # [B, M, G]
    attention = attention * mask.unsqueeze(-1)
    # Soft assignment of each (frame, group) slice to the K clusters: BN over frame rows, softmax over K.
    assignment_logits = expanded.reshape(batch * length, -1) @ p("cluster_weights")          # [B*M, G*K]
    row_mask = mask.reshape(-1) if config.bn_excludes_padding else None
    assignment_logits = batch_norm_train(assignment_logits, params, prefix + ".cluster_bn", config, row_mask)
    assignment = torch.softmax(assignment_logits.reshape(batch, length, groups, clusters), dim=-1)
    weight = assignment * attention.unsqueeze(-1)  # [B, M, G, K]
    # y[b, d, k] = sum over frames i and groups g of weight[b,i,g,k] * (slice[b,i,g,d] - c[d,k]).
    centres = p("cluster_weights2")  # [D_g, K]
    residual_sum = torch.einsum("bigk,bigd->bdk", weight, slices)
    vlad = residual_sum - weight.sum(dim=(1, 2)).unsqueeze(1) * centres.unsqueeze(0)
    # Intra-normalisation: every cluster's D_g-vector to unit length (tf.nn.l2_normalize's epsilon).
    norms = torch.sqrt(torch.clamp((vlad * vlad).sum(dim=1, keepdim=True), min=1e-12))
    vlad = vlad / norms
    return batch_norm_train(vlad.reshape(batch, group_dim * clusters), params, prefix + ".vlad_bn", config)


def netvlad_block(frames, mask, params, prefix, clusters, config):
    """frames [B, M, N] -> [B, N * K], feature index d * K + k, unit L2 norm per video."""
    batch, length, n = frames.shape
    p = lambda name: params[prefix + "." + name]
    # Soft assignment of each frame to the K clusters: FC without bias, BN over frame rows, softmax over K;
    # zero on padded frames.
    assignment_logits = frames.reshape(batch * length, n) @ p("cluster_weights")  # [B*M, K]
    row_mask = mask.reshape(-1) if config.bn_excludes_padding else None
    assignment_logits = batch_norm_train(assignment_logits, params, prefix + ".cluster_bn", config, row_mask)
    assignment = torch.softmax(assignment_logits, dim=-1).reshape(batch, length, clusters) * mask.unsqueeze(-1)
    # y[b, d, k] = sum over frames i of a[b,i,k] * (x[b,i,d] - c[d,k]), the residuals spelled out.
    residuals = frames.unsqueeze(-1) - p("cluster_weights2").reshape(1, 1, n, clusters)  # [B, M, N, K]
    vlad = (assignment.unsqueeze(2) * residuals).sum(dim=1)                              # [B, N, K]
    # Intra-normalisation per cluster, then the global L2 normalisation of the flat vector.
    vlad = vlad / torch.sqrt(torch.clamp((vlad * vlad).sum(dim=1, keepdim=True), min=1e-12))
    flat = vlad.reshape(batch, n * clusters)
    return flat / torch.sqrt(torch.clamp((flat * flat).sum(dim=1, keepdim=True), min=1e-12))


MOE_EPSILON = 1e-7


def moe_logits(hidden, params, config):
    """Mixture of experts: per class a softmax gate over m experts and a dummy one, p = sum_e gate_e *
    sigmoid(expert_e); returns logit(p) with p clamped to [1e-7, 1 - 1e-7]."""
    m, c = config.moe_mixtures, config.num_classes
    gates = torch.softmax(F.linear(hidden, params["classifier.gate.weight"], params["classifier.gate.bias"])
                          .reshape(-1, c, m + 1), dim=-1)
    experts = torch.sigmoid(F.linear(hidden, params["classifier.experts.weight"], params["classifier.experts.bias"])
                            .reshape(-1, c, m))
    probability = torch.clamp((gates[..., :m] * experts).sum(dim=-1), MOE_EPSILON, 1 - MOE_EPSILON)
    return torch.log(probability) - torch.log1p(-probability)


def forward(params, config, frames_rgb, frames_audio, frame_counts):
    """Training-mode forward pass (dropout rate 0). Returns dict(logits, encoding, hidden); an ensemble
    (ensemble_size > 1) also returns branch_logits and mixture_weights (see ensemble_forward)."""
    if config.ensemble_size > 1:
        return ensemble_forward(params, config, frames_rgb, frames_audio, frame_counts)
    if config.dropout_rate != 0.0:
        raise ValueError("the reference models no dropout; use dropout_rate 0")
    mask = frame_mask(frame_counts, frames_rgb.shape[1], frames_rgb.dtype)
    encodings = []
    for (prefix, _, clusters, groups), frames in zip(config.block_shapes(), (frames_rgb, frames_audio)):
        if config.aggregation == "netvlad":
            encodings.append(netvlad_block(frames, mask, params, prefix, clusters, config))
        else:
            encodings.append(nextvlad_block(frames, mask, params, prefix, clusters, groups, config))
    encoding = torch.cat(encodings, dim=1)
    # Hidden FC without bias, BN, no ReLU.
    hidden = batch_norm_train(encoding @ params["hidden.weight"].t(), params, "hidden_bn", config)
    # SE context gating.
    squeezed = torch.relu(batch_norm_train(hidden @ params["gating.fc1.weight"].t(), params, "gating.bn", config))
    gates = torch.sigmoid(squeezed @ params["gating.fc2.weight"].t())
    gated = hidden * gates
    if config.classifier == "moe":
        logits = moe_logits(gated, params, config)
    else:
        logits = gated @ params["classifier.weight"].t() + params["classifier.bias"]
    return {"logits": logits, "encoding": encoding, "hidden": gated}


def ensemble_forward(params, config, frames_rgb, frames_audio, frame_counts):
    """The mixture of M = ensemble_size single models. Branch m is the single model on the parameters named
    "branch{m}.<name>"; the gate is a = softmax over M of (BN(x_bar) @ mix_gate.weight^T + mix_gate.bias),
    with x_bar the mean of concat(rgb, audio) over each video's real frames (0 for a video without frames)
    and BN the training-mode batch norm over the B rows (no mask). Returns logits = sum_m a[:, m] * z_m,
    encoding and hidden concatenated over the branches along axis 1, branch_logits [z_0, .., z_{M-1}] and
    mixture_weights a [B, M]."""
    single = config.branch_config()
    branches = []
    for m in range(config.ensemble_size):
        prefix = branch_prefix(m)
        # The same tensor objects under the single model's names: gradients and the in-place running-stat
        # updates land on the ensemble's parameters.
        branch_params = {name[len(prefix):]: value for name, value in params.items() if name.startswith(prefix)}
        branches.append(forward(branch_params, single, frames_rgb, frames_audio, frame_counts))

    frames = torch.cat([frames_rgb, frames_audio], dim=2)  # [B, T, N_rgb + N_audio]
    mask = frame_mask(frame_counts, frames.shape[1], frames.dtype)
    counts = torch.clamp(mask.sum(1, keepdim=True), min=1.0)
    frame_mean = (frames * mask.unsqueeze(-1)).sum(1) / counts  # [B, N]
    normalised = batch_norm_train(frame_mean, params, "mix_gate.bn", config)
    mixture_weights = torch.softmax(F.linear(normalised, params["mix_gate.weight"], params["mix_gate.bias"]), dim=1)

    branch_logits = [branch["logits"] for branch in branches]
    logits = sum(mixture_weights[:, m:m + 1] * z for m, z in enumerate(branch_logits))
    return {"logits": logits,
            "encoding": torch.cat([branch["encoding"] for branch in branches], dim=1),
            "hidden": torch.cat([branch["hidden"] for branch in branches], dim=1),
            "branch_logits": branch_logits,
            "mixture_weights": mixture_weights}


# ---- losses: per-example sums over the feature/class axis, averaged over the batch


def label_loss(logits, labels):
    """Binary cross-entropy of sigmoid(logits) against 0/1 labels (the paper's eq. 1)."""
    probabilities_log = F.logsigmoid(logits)
    complement_log = F.logsigmoid(-logits)
    return -(labels * probabilities_log + (1 - labels) * complement_log).sum(1).mean()


def representation_loss(teacher_encoding, student_encoding):
    """Squared L2 distance between the encodings (eq. 2)."""
    return ((teacher_encoding - student_encoding) ** 2).sum(1).mean()


def prediction_loss(teacher_logits, student_logits, kind, temperature=1.0):
    """categorical-kl: KL between the class distributions sigmoid(z/T) / sum_c sigmoid(z/T) (the released
    code's tf.distributions.Categorical KL); bernoulli-kl: the sum over classes of the KL between the
    per-class Bernoulli distributions; squared-error: sum_c (p_T - p_S)^2. The two KL losses are scaled by
    T^2 (Hinton et al.)."""
    pt = torch.sigmoid(teacher_logits / temperature)
    ps = torch.sigmoid(student_logits / temperature)
    if kind == "categorical-kl":
        qt = pt / pt.sum(1, keepdim=True)
        qs = ps / ps.sum(1, keepdim=True)
        return temperature ** 2 * (qt * (torch.log(qt) - torch.log(qs))).sum(1).mean()
    if kind == "bernoulli-kl":
        kl = pt * (torch.log(pt) - torch.log(ps)) + (1 - pt) * (torch.log1p(-pt) - torch.log1p(-ps))
        return temperature ** 2 * kl.sum(1).mean()
    if kind == "squared-error":
        return ((pt - ps) ** 2).sum(1).mean()
    raise ValueError("unknown prediction loss " + kind)


PREDICTION_LOSSES = ("categorical-kl", "bernoulli-kl", "squared-error")
TEMPERATURES = (1.0, 2.0)


ENSEMBLE_TEMPERATURE = 3.0
ENSEMBLE_KL_WEIGHT = 9.0  # T^2 * 1: the NeXtVLAD submission's cl_lambda with T = 3


def ensemble_loss(mixture_logits, branch_logits, labels, temperature=ENSEMBLE_TEMPERATURE,
                  kl_weight=ENSEMBLE_KL_WEIGHT):
    """The ensemble's on-the-fly distillation (NeXtVLAD paper section 2.4):
        label = sum_m label_loss(z_m, labels)
        kl    = sum_m mean_b sum_c p_e[b,c] * (log p_e[b,c] - log p_m[b,c]),
    p_e = softmax over the classes of z_e / T, p_m likewise of z_m / T, both from log_softmax. The mixture
    side is not detached: the KL also trains the gate and, through z_e, every branch. Returns dict(label,
    kl, total = label + kl_weight * kl); no T^2 factor beyond kl_weight."""
    log_mixture = F.log_softmax(mixture_logits / temperature, dim=1)
    mixture = torch.exp(log_mixture)
    label = sum(label_loss(z, labels) for z in branch_logits)
    kl = sum((mixture * (log_mixture - F.log_softmax(z / temperature, dim=1))).sum(1).mean() for z in branch_logits)
    return {"label": label, "kl": kl, "total": label + kl_weight * kl}

"""An independent PyTorch twin of the vitsweep ViT: model, losses, optimizers, LR schedule.

Written from docs/method.md and the fixture brief, not from the C++ engine, so that the engine's
tests can compare against it. Plain torch only: no nn.MultiheadAttention, no timm.

The model is functional: parameters are a dict {timm name: tensor}, so a state dict saved from
here loads into timm's VisionTransformer (class_token/no_embed_class/global_pool set to match;
the gate and, for posemb=sincos2d, the fixed table have no timm counterpart).

A config is a dict with the trial-config keys of lib/config/trial_config.hpp; the keys read here
are listed in CONFIG_KEYS. Everything works in any floating dtype: float64 for fixtures and
finite-difference checks, float32 for benchmarks.
"""

import math

import torch
import torch.nn.functional as F

LN_EPS = 1e-6

CONFIG_KEYS = (
    "synthetic_size", "synthetic_channels", "synthetic_classes",
    "width", "depth", "heads", "mlp_dim", "patch", "pool", "posemb",
    "attn", "alpha", "scale_length", "qk_norm", "gate",
    "loss", "label_smoothing", "optimizer", "lr", "weight_decay", "beta1", "beta2", "eps",
    "momentum", "clip_norm", "schedule", "warmup_steps", "batch_size",
)


def _relu2(s):
    return torch.square(F.relu(s))


def _identity(s):
    return s


# h of point-wise attention a = L^-alpha * h(s). softmax is not here: it is not point-wise.
POINTWISE = {
    "relu": F.relu,
    "relu2": _relu2,
    "gelu": F.gelu,  # erf form (approximate="none")
    "softplus": F.softplus,  # beta 1, threshold 20
    "identity": _identity,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
}

GATES = {
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "gelu": F.gelu,
    "identity": _identity,
}

ATTN_KINDS = ("softmax",) + tuple(POINTWISE)


class Ops:
    """The two matrix products the model needs. The default is plain torch; bench_twin.py can
    swap in other kernels with identical results (see bench_twin.OneDnnOps)."""

    @staticmethod
    def linear(x, weight, bias):
        return F.linear(x, weight, bias)

    @staticmethod
    def scores(q, k):
        """[G, Lq, d] x [G, Lk, d] -> [G, Lq, Lk] (q k^T)."""
        return q @ k.transpose(-2, -1)

    @staticmethod
    def mix(a, v):
        """[G, Lq, Lk] x [G, Lk, d] -> [G, Lq, d] (a v)."""
        return a @ v


TORCH_OPS = Ops()


# ----------------------------------------------------------------------------------------------
# Geometry and parameters


def grid(cfg):
    """(h, w): patches per column and per row."""
    size, p = cfg["synthetic_size"], cfg["patch"]
    assert size % p == 0, "patch must divide the image side"
    return size // p, size // p


def num_patches(cfg):
    h, w = grid(cfg)
    return h * w


def seq_len(cfg):
    """L: tokens the encoder sees (keys per query), counting the class token."""
    return num_patches(cfg) + (1 if cfg["pool"] == "cls" else 0)


def has_attention(cfg):
    """attn = "none": every block is LayerNorm + MLP only (no norm1, no attention branch)."""
    return cfg["attn"] != "none"


def param_shapes(cfg):
    """{timm name: shape} in timm's state-dict order."""
    D, C, p = cfg["width"], cfg["synthetic_channels"], cfg["patch"]
    H, M, K = cfg["heads"], cfg["mlp_dim"], cfg["synthetic_classes"]
    assert D % H == 0, "width must be divisible by heads"
    hd = D // H
    shapes = {}
    if cfg["pool"] == "cls":
        shapes["cls_token"] = (1, 1, D)
    if cfg["posemb"] == "learned":
        shapes["pos_embed"] = (1, num_patches(cfg), D)
    shapes["patch_embed.proj.weight"] = (D, C, p, p)
    shapes["patch_embed.proj.bias"] = (D,)
    for i in range(cfg["depth"]):
        b = f"blocks.{i}."
        if has_attention(cfg):
            shapes[b + "norm1.weight"] = (D,)
            shapes[b + "norm1.bias"] = (D,)
            shapes[b + "attn.qkv.weight"] = (3 * D, D)
            shapes[b + "attn.qkv.bias"] = (3 * D,)
            if cfg["qk_norm"]:
                shapes[b + "attn.q_norm.weight"] = (hd,)
                shapes[b + "attn.q_norm.bias"] = (hd,)
                shapes[b + "attn.k_norm.weight"] = (hd,)
                shapes[b + "attn.k_norm.bias"] = (hd,)
            if cfg["gate"] != "none":
                shapes[b + "attn.gate.weight"] = (D, D)
                shapes[b + "attn.gate.bias"] = (D,)
            shapes[b + "attn.proj.weight"] = (D, D)
            shapes[b + "attn.proj.bias"] = (D,)
        shapes[b + "norm2.weight"] = (D,)
        shapes[b + "norm2.bias"] = (D,)
        shapes[b + "mlp.fc1.weight"] = (M, D)
        shapes[b + "mlp.fc1.bias"] = (M,)
        shapes[b + "mlp.fc2.weight"] = (D, M)
        shapes[b + "mlp.fc2.bias"] = (D,)
    shapes["norm.weight"] = (D,)
    shapes["norm.bias"] = (D,)
    shapes["head.weight"] = (K, D)
    shapes["head.bias"] = (K,)
    return shapes


def timm_kwargs(cfg):
    """The arguments of timm's VisionTransformer(...) whose state_dict has exactly the names and
    shapes of param_shapes(cfg) and, as far as timm's source reads (timm is not installed here, so
    this is not run against it), computes forward() the same way. Other arguments stay at their
    defaults: qkv_bias=True, LayerNorm eps 1e-6 (also for q_norm/k_norm), exact GELU, no layer
    scale, no register tokens, pre_norm=False, final_norm=True. Only softmax attention without a
    gate and with posemb="learned" has a timm counterpart: point-wise attention, the gate and the
    fixed sin-cos table are not in timm's VisionTransformer."""
    if cfg["attn"] != "softmax" or cfg["gate"] != "none" or cfg["posemb"] != "learned":
        raise ValueError("only attn=softmax, gate=none, posemb=learned have a timm counterpart")
    D, M = cfg["width"], cfg["mlp_dim"]
    if int(D * (M / D)) != M:
        raise ValueError(f"timm's hidden size int(width * mlp_ratio) cannot give mlp_dim {M}")
    kwargs = {
        "img_size": cfg["synthetic_size"], "patch_size": cfg["patch"],
        "in_chans": cfg["synthetic_channels"], "num_classes": cfg["synthetic_classes"],
        "embed_dim": D, "depth": cfg["depth"], "num_heads": cfg["heads"], "mlp_ratio": M / D,
        "qk_norm": bool(cfg["qk_norm"]),
    }
    if cfg["pool"] == "gap":
        # timm's default for 'avg' is fc_norm (LayerNorm after pooling, named fc_norm.*); the
        # engine normalises every token, then averages (norm.*).
        kwargs.update(class_token=False, global_pool="avg", fc_norm=False)
    else:
        # pos_embed covers the patches only; the class token is prepended after it is added.
        kwargs.update(class_token=True, global_pool="token", no_embed_class=True)
    return kwargs


_DECAY_SUFFIXES = (
    "patch_embed.proj.weight", "attn.qkv.weight", "attn.gate.weight", "attn.proj.weight",
    "mlp.fc1.weight", "mlp.fc2.weight", "head.weight",
)


def is_decayed(name):
    """Weight decay applies to the weight matrices only (not biases, norms, pos_embed, cls)."""
    return name.endswith(_DECAY_SUFFIXES)


def posemb_sincos_2d(h, w, width, temperature=10000.0, dtype=torch.float64):
    """big_vision's posemb_sincos_2d: [h*w, width], rows in row-major patch order."""
    assert width % 4 == 0, "width must be a multiple of 4 for sincos2d"
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                          torch.arange(w, dtype=torch.float64), indexing="ij")
    n = width // 4
    if n == 1:
        omega = torch.ones(1, dtype=torch.float64)
    else:
        omega = torch.arange(n, dtype=torch.float64) / (n - 1)
    omega = 1.0 / (temperature ** omega)
    y = torch.outer(y.flatten(), omega)
    x = torch.outer(x.flatten(), omega)
    pe = torch.cat([torch.sin(x), torch.cos(x), torch.sin(y), torch.cos(y)], dim=1)
    return pe.to(dtype)


# ----------------------------------------------------------------------------------------------
# Forward


def attention(q, k, v, h=None, alpha=1.0, ops=TORCH_OPS, record=None, scale_length=0):
    """Multi-head attention core. q, k, v: [B, H, L, d]. h None: softmax; else the point-wise
    weights a = L^-alpha * h(s), with L the number of keys (or scale_length when > 0).
    Returns [B, H, L, d].
    record: a list that receives (s, a), scores and weights [B, H, L, Lk], for inspection (their
    .grad is kept after backward)."""
    B, H, L, d = q.shape
    Lk = k.shape[2]
    s = ops.scores(q.reshape(B * H, L, d), k.reshape(B * H, Lk, d)) / math.sqrt(d)
    s = s.reshape(B, H, L, Lk)
    if h is None:
        a = torch.softmax(s, dim=-1)
    else:
        a = float(scale_length or Lk) ** (-alpha) * h(s)
    if record is not None:
        for x in (s, a):
            if x.requires_grad:
                x.retain_grad()
        record.append((s, a))
    o = ops.mix(a.reshape(B * H, L, Lk), v.reshape(B * H, Lk, d))
    return o.reshape(B, H, L, d)


def attention_layer(params, prefix, cfg, xn, ops=TORCH_OPS, record=None):
    """The attention sub-layer on the normalised input xn [B, L, D]."""
    B, L, D = xn.shape
    H = cfg["heads"]
    hd = D // H
    qkv = ops.linear(xn, params[prefix + "qkv.weight"], params[prefix + "qkv.bias"])
    qkv = qkv.reshape(B, L, 3, H, hd).permute(2, 0, 3, 1, 4)  # [3, B, H, L, hd]
    q, k, v = qkv[0], qkv[1], qkv[2]
    if cfg["qk_norm"]:
        q = F.layer_norm(q, (hd,), params[prefix + "q_norm.weight"],
                         params[prefix + "q_norm.bias"], LN_EPS)
        k = F.layer_norm(k, (hd,), params[prefix + "k_norm.weight"],
                         params[prefix + "k_norm.bias"], LN_EPS)
    h = None if cfg["attn"] == "softmax" else POINTWISE[cfg["attn"]]
    o = attention(q, k, v, h, float(cfg["alpha"]), ops, record, int(cfg.get("scale_length", 0)))
    o = o.transpose(1, 2).reshape(B, L, D)  # concat heads
    if cfg["gate"] != "none":
        g = ops.linear(xn, params[prefix + "gate.weight"], params[prefix + "gate.bias"])
        o = GATES[cfg["gate"]](g) * o
    return ops.linear(o, params[prefix + "proj.weight"], params[prefix + "proj.bias"])


def mlp(params, prefix, x, ops=TORCH_OPS):
    x = ops.linear(x, params[prefix + "fc1.weight"], params[prefix + "fc1.bias"])
    x = F.gelu(x)
    return ops.linear(x, params[prefix + "fc2.weight"], params[prefix + "fc2.bias"])


def _ln(params, prefix, x):
    return F.layer_norm(x, (x.shape[-1],), params[prefix + ".weight"], params[prefix + ".bias"],
                        LN_EPS)


def forward(params, cfg, images, ops=TORCH_OPS, record=None):
    """images [B, C, H, W] (already normalised) -> logits [B, K]."""
    x = F.conv2d(images, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"],
                 stride=cfg["patch"])  # [B, D, h, w]
    B, D, gh, gw = x.shape
    x = x.flatten(2).transpose(1, 2)  # [B, N, D], row-major patch order
    if cfg["posemb"] == "learned":
        x = x + params["pos_embed"]
    elif cfg["posemb"] == "sincos2d":
        x = x + posemb_sincos_2d(gh, gw, D, dtype=x.dtype).unsqueeze(0)
    else:
        raise ValueError(f"unknown posemb {cfg['posemb']!r}")
    if cfg["pool"] == "cls":
        x = torch.cat([params["cls_token"].expand(B, -1, -1), x], dim=1)
    for i in range(cfg["depth"]):
        b = f"blocks.{i}."
        if has_attention(cfg):
            xn = _ln(params, b + "norm1", x)
            x = x + attention_layer(params, b + "attn.", cfg, xn, ops, record)
        x = x + mlp(params, b + "mlp.", _ln(params, b + "norm2", x), ops)
    x = _ln(params, "norm", x)
    if cfg["pool"] == "gap":
        pooled = x.mean(dim=1)
    elif cfg["pool"] == "cls":
        pooled = x[:, 0]
    else:
        raise ValueError(f"unknown pool {cfg['pool']!r}")
    return F.linear(pooled, params["head.weight"], params["head.bias"])


# ----------------------------------------------------------------------------------------------
# Loss


def smoothed_targets(labels, num_classes, eps, dtype):
    onehot = F.one_hot(labels, num_classes).to(dtype)
    return (1.0 - eps) * onehot + eps / num_classes


def loss_fn(logits, labels, cfg):
    """Mean over the batch of softmax or sigmoid cross-entropy against smoothed targets."""
    K = logits.shape[-1]
    target = smoothed_targets(labels, K, float(cfg["label_smoothing"]), logits.dtype)
    if cfg["loss"] == "softmax_xent":
        return -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
    if cfg["loss"] == "sigmoid_xent":
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return bce.sum(dim=-1).mean()
    raise ValueError(f"unknown loss {cfg['loss']!r}")


# ----------------------------------------------------------------------------------------------
# Schedule, clipping, optimizers


def learning_rate(cfg, t, total_steps):
    """lr for update t = 0, 1, ... of total_steps."""
    eta, W, T = float(cfg["lr"]), int(cfg["warmup_steps"]), int(total_steps)
    if t < W:
        return eta * (t + 1) / W
    frac = (t - W) / max(1, T - W)
    if cfg["schedule"] == "cosine":
        return eta * 0.5 * (1.0 + math.cos(math.pi * frac))
    if cfg["schedule"] == "linear":
        return eta * (1.0 - frac)
    if cfg["schedule"] == "constant":
        return eta
    raise ValueError(f"unknown schedule {cfg['schedule']!r}")


@torch.no_grad()
def clip_gradients(grads, clip_norm):
    """torch.nn.utils.clip_grad_norm_ semantics on a dict of gradients, in place. Returns the
    global norm before clipping."""
    total = torch.sqrt(sum(torch.sum(g * g) for g in grads.values()))
    if clip_norm > 0:
        coef = clip_norm / (float(total) + 1e-6)
        if coef < 1.0:
            for g in grads.values():
                g.mul_(coef)
    return float(total)


class Optimizer:
    """AdamW (torch.optim.AdamW semantics) or SGD with momentum (torch.optim.SGD, dampening 0,
    no nesterov); weight decay only on is_decayed() parameters: decoupled for AdamW, coupled L2
    for SGD."""

    def __init__(self, cfg):
        self.kind = cfg["optimizer"]
        if self.kind not in ("adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.kind!r}")
        self.wd = float(cfg["weight_decay"])
        self.b1, self.b2, self.eps = float(cfg["beta1"]), float(cfg["beta2"]), float(cfg["eps"])
        self.momentum = float(cfg["momentum"])
        self.t = 0
        self.state = {}

    @torch.no_grad()
    def step(self, params, grads, lr):
        t = self.t
        for name, p in params.items():
            g = grads[name]
            decay = is_decayed(name)
            if self.kind == "adamw":
                if decay:
                    p.mul_(1.0 - lr * self.wd)
                if t == 0:
                    self.state[name] = (torch.zeros_like(p), torch.zeros_like(p))
                m, v = self.state[name]
                m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
                v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
                m_hat = m / (1.0 - self.b1 ** (t + 1))
                v_hat = v / (1.0 - self.b2 ** (t + 1))
                p.sub_(lr * m_hat / (torch.sqrt(v_hat) + self.eps))
            else:
                if decay:
                    g = g + self.wd * p
                if t == 0:
                    buf = g.clone()
                else:
                    buf = self.state[name].mul_(self.momentum).add_(g)
                self.state[name] = buf
                p.sub_(lr * buf)
        self.t += 1


def train_step(params, opt, cfg, images, labels, lr, ops=TORCH_OPS, grad_hook=None):
    """One update: loss, backward, clip, optimizer step. Returns (loss, global grad norm).
    grad_hook(grads) may change the gradients in place before clipping (used to probe how
    sensitive a trajectory is to rounding noise)."""
    for p in params.values():
        p.grad = None
    loss = loss_fn(forward(params, cfg, images, ops), labels, cfg)
    loss.backward()
    grads = {n: p.grad for n, p in params.items()}
    if grad_hook is not None:
        grad_hook(grads)
    norm = clip_gradients(grads, float(cfg["clip_norm"]))
    opt.step(params, grads, lr)
    return loss.detach(), norm

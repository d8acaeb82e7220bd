"""Root-set logits of a whole cohort of models in a few batched matrix products.

The cohort's models share one architecture and one input batch and differ only in their parameters, so a
layer of ``k`` models is one batched product: a linear layer is ``x @ W_iᵀ`` for every ``i`` at once, a
convolution the same product on the input's patches (im2col [Chellapilla et al., 2006, "High Performance
Convolutional Neural Networks for Document Processing"]), whose first layer's patches all ``k`` models
share. A convolution followed by ReLU and max pooling pools first and adds its bias and ReLU to the
pooled map, a quarter of the values: the result is the same float for float, since rounding ``a + b``,
ReLU and max are all monotone, so they commute with max.

Models are processed a block at a time so the activations stay within ``ACTIVATION_BUDGET`` values
whatever the cohort's size. The architectures are those of ``workers.models`` (linear, 2-D convolution,
ReLU, max pooling, flatten); another module raises ``UnsupportedLayer`` and the caller falls back to
``torch.func.vmap``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATION_BUDGET = 1 << 21  # float32 values of the largest activation of one block of models (8 MiB)
PARAMETER_BUDGET = 1 << 24  # float32 parameters of one block of models (64 MiB)


class UnsupportedLayer(TypeError):
    """A module the batched forward does not know; use ``torch.func.vmap`` instead."""


def stacked_parameters(
    rows: torch.Tensor, names: Sequence[str], shapes: Sequence[tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """Views of the ``(k, d)`` flattened models as ``(k, *shape)`` tensors, in the flattening's order."""
    stacked: dict[str, torch.Tensor] = {}
    start = 0
    for name, shape in zip(names, shapes, strict=True):
        size = int(np.prod(shape)) if shape else 1
        stacked[name] = rows[:, start : start + size].reshape(len(rows), *shape)
        start += size
    return stacked


# Activations are kept feature-major: ``(k, D, m)`` after a linear layer, ``(k, C, m, H, W)`` after a
# convolution, so every layer of a block of models is one (batched) matrix product on contiguous memory.


def _linear(x: torch.Tensor, weight: torch.Tensor, shared: bool) -> torch.Tensor:
    """``(m, D)`` shared or ``(k, D, m)`` inputs, ``(k, O, D)`` weights: ``(k, O, m)``, without the bias."""
    k, out_features, in_features = weight.shape
    if shared:
        return (weight.reshape(k * out_features, in_features) @ x.T).reshape(k, out_features, -1)
    return torch.bmm(weight, x)


def _conv(
    x: torch.Tensor, layer: nn.Conv2d, weight: torch.Tensor, shared: bool, tile: tuple[int, int] | None
) -> torch.Tensor:
    """``(m, C, H, W)`` shared or ``(k, C, m, H, W)`` inputs: ``(k, O, m, H', W')``, without the bias.

    With a ``tile``, a non-overlapping max pool of that size follows, fused: the product's columns are
    ordered tile offset first, so the pool is an elementwise maximum of a few contiguous slabs.
    """
    k, out_channels = weight.shape[:2]
    images = x if shared else x.transpose(1, 2).flatten(0, 1)  # (k m, C, H, W)
    m = len(x) if shared else x.shape[2]
    patches = F.unfold(images, layer.kernel_size, layer.dilation, _pair(layer.padding), layer.stride)
    size = patches.shape[1]  # C * kernel area
    h, w = (
        (side + 2 * pad - dil * (ker - 1) - 1) // stride + 1
        for side, pad, dil, ker, stride in zip(
            images.shape[-2:],
            _pair(layer.padding),
            layer.dilation,
            layer.kernel_size,
            layer.stride,
            strict=True,
        )
    )
    # columns: (size, m, h, w) shared, (k, size, m, h, w) otherwise
    columns = (
        patches.reshape(m, size, h, w).transpose(0, 1)
        if shared
        else patches.reshape(k, m, size, h, w).transpose(1, 2)
    )
    if tile is not None:
        rows, cols = h // tile[0], w // tile[1]
        cropped = columns[..., : rows * tile[0], : cols * tile[1]]
        lead = cropped.shape[:-3]
        cropped = cropped.reshape(*lead, m, rows, tile[0], cols, tile[1])
        order = (*range(len(lead)), -3, -1, -5, -4, -2)  # (..., t0, t1, m, rows, cols)
        columns, (h, w) = cropped.permute(*order), (rows, cols)
    if shared:  # one product for every model: (k O, C kk) @ (C kk, [tiles] m L)
        out = weight.reshape(k * out_channels, size) @ columns.reshape(size, -1)
    else:
        out = torch.bmm(weight.reshape(k, out_channels, size), columns.reshape(k, size, -1))
    if tile is None:
        return out.reshape(k, out_channels, m, h, w)
    slabs = out.reshape(k, out_channels, tile[0] * tile[1], m, h, w)
    pooled = slabs[:, :, 0]
    for j in range(1, tile[0] * tile[1]):
        torch.maximum(pooled, slabs[:, :, j], out=pooled)  # in place: the product is not needed after
    return pooled


def _tile(layer: nn.Module) -> tuple[int, int] | None:
    """The tile of a max pool whose windows do not overlap (kernel = stride, no padding), else None."""
    if not isinstance(layer, nn.MaxPool2d) or layer.ceil_mode:
        return None
    size, stride = _pair(layer.kernel_size), _pair(layer.stride)
    return (
        size
        if size == stride and _pair(layer.padding) == (0, 0) and _pair(layer.dilation) == (1, 1)
        else None
    )


def _pair(value: int | str | tuple[int, ...]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, str) or len(value) != 2:
        raise UnsupportedLayer(f"a layer setting {value!r}")
    return value[0], value[1]


def _pool(x: torch.Tensor, layer: nn.MaxPool2d) -> torch.Tensor:
    """``(k, C, m, H, W)``: each sample's plane pooled, the m samples standing in as channels."""
    k, channels = x.shape[:2]
    pooled = F.max_pool2d(x.flatten(0, 1), layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    return pooled.reshape(k, channels, *pooled.shape[1:])


def _add_bias(h: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    if bias is None:
        return h
    return h.add_(bias.reshape(*bias.shape, *([1] * (h.dim() - 2))))


def batched_forward(model: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits ``(k, m, classes)`` of the ``k`` models whose stacked parameters are ``params`` on ``x``."""
    if not isinstance(model, nn.Sequential):
        raise UnsupportedLayer(f"a {type(model).__name__}: only nn.Sequential models are batched")
    layers = list(model.named_children())
    h, shared, i = x, True, 0
    while i < len(layers):
        name, layer = layers[i]
        if isinstance(layer, nn.Linear):
            if h.dim() != (2 if shared else 3):
                raise UnsupportedLayer(f"layer {name}: a linear layer on images needs a flatten first")
            h, shared = (
                _add_bias(_linear(h, params[f"{name}.weight"], shared), params.get(f"{name}.bias")),
                False,
            )
        elif isinstance(layer, nn.Conv2d):
            if layer.groups != 1 or layer.padding_mode != "zeros":
                raise UnsupportedLayer(f"convolution {layer}")
            following = [m for _, m in layers[i + 1 : i + 3]]
            pool_first = len(following) == 2 and isinstance(following[0], nn.ReLU)
            tile = _tile(following[1]) if pool_first else None
            # pooled before its bias and ReLU: exact (see the module docstring), a quarter of the work
            h, shared = _conv(h, layer, params[f"{name}.weight"], shared, tile), False
            h = _add_bias(h, params.get(f"{name}.bias"))
            if tile is not None:
                h.relu_()
                i += 2
        elif isinstance(layer, nn.ReLU) and not shared:
            h.relu_()
        elif isinstance(layer, nn.MaxPool2d) and not shared and h.dim() == 5:
            h = _pool(h, layer)
        elif isinstance(layer, nn.Flatten) and not shared and h.dim() == 5:
            k, c, m, height, width = h.shape
            h = h.permute(0, 1, 3, 4, 2).reshape(k, c * height * width, m)  # torch's (C, H, W) order
        else:
            raise UnsupportedLayer(f"layer {name}: {layer}")
        i += 1
    if shared or h.dim() != 3:
        raise UnsupportedLayer("the model does not end in a linear layer")
    return h.transpose(1, 2)


def activation_size(model: nn.Module, sample: torch.Tensor) -> int:
    """The most values any layer of ``model`` outputs for one sample (``sample``: a batch of one)."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel())) for m in model.children()]
    try:
        model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return max(sizes, default=1)


def model_blocks(num_models: int, activations: int, parameters: int) -> Iterator[slice]:
    """Slices of the models: each block's largest activation within ``ACTIVATION_BUDGET`` values and its
    parameters within ``PARAMETER_BUDGET``."""
    step = max(1, min(ACTIVATION_BUDGET // max(activations, 1), PARAMETER_BUDGET // max(parameters, 1)))
    for start in range(0, num_models, step):
        yield slice(start, min(start + step, num_models))

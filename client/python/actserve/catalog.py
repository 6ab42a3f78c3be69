"""The catalog as Python values: what ListActivations says about each function."""
import dataclasses
from typing import Dict, List, Tuple

from actserve._generated.proto.actserve.v1 import activation_service_pb2 as pb


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter of an activation: its default, bounds (+-inf where unbounded; a bound is
    excluded where *_exclusive), whether it is learnable (per channel, with gradients from
    backward) and whether it must be a whole number."""
    name: str
    default: float
    min: float
    max: float
    min_exclusive: bool
    max_exclusive: bool
    learnable: bool
    integer: bool


@dataclasses.dataclass(frozen=True)
class Activation:
    """One catalog entry.

    layout is "elementwise" or "last_axis" (softmax, maxout, glu, ...: each row of the last
    axis maps to one output row); noise is "none", "uniform_when_training" (rrelu) or
    "standard_normal" (noisy_relu); properties maps the survey's criteria ("monotonic",
    "smooth", "zero_centered", "saturation", "sparse", "identity_near_zero",
    "monotonic_derivative", "gradient_flows", "cost") to booleans or names.
    """
    name: str
    aliases: Tuple[str, ...]
    formula: str
    derivative: str
    output_range: str
    kink_convention: str
    source: str
    params: Tuple[Param, ...]
    properties: Dict[str, object]
    layout: str
    noise: str
    last_axis_rule: str
    backward_from_output: bool = False

    @property
    def learnable(self) -> List[str]:
        """Names of the learnable parameters."""
        return [p.name for p in self.params if p.learnable]

    @classmethod
    def from_proto(cls, info: pb.ActivationInfo) -> "Activation":
        props = {}
        for field in info.properties.DESCRIPTOR.fields:
            value = getattr(info.properties, field.name)
            if field.enum_type is not None:
                value = field.enum_type.values_by_number[value].name.split("_", 1)[1].lower()
            props[field.name] = value
        return cls(
            name=info.name, aliases=tuple(info.aliases), formula=info.formula,
            derivative=info.derivative, output_range=info.output_range,
            kink_convention=info.kink_convention, source=info.source,
            params=tuple(Param(p.name, p.default_value, p.min, p.max, p.min_exclusive,
                               p.max_exclusive, p.learnable, p.integer) for p in info.params),
            properties=props,
            layout=pb.Layout.Name(info.layout).split("_", 1)[1].lower(),
            noise=pb.Noise.Name(info.noise).split("_", 1)[1].lower(),
            last_axis_rule=info.last_axis_rule,
            backward_from_output=info.backward_from_output)

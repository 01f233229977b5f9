"""A vendor's own job options: how each is declared, and the typed value a job carries.

A vendor declares each option once, as an `OptionSpec` (its name, label, kind, choices,
default, the setting it is remembered under, its command-line flag and help), in its
descriptor; the Files panel's controls, the CLI's flags and the remembered settings
are derived from the declarations. A job carries the vendor's options as an instance
of the vendor's `VendorOptions` subclass (`BotlhaleOptions(mode, api_version)`), beside
the options every service shares (jobs/model.py `JobOptions`).

Pure data: the widgets may import this module; it imports nothing above core.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from dictation_app.core.errors import ConfigurationError
from dictation_app.core.settings import Setting

V = TypeVar("V", bound="VendorOptions")


class OptionKind(str, enum.Enum):
    BOOL = "bool"  # a check box; a `store_true` flag
    CHOICE = "choice"  # a combo box; a flag with `choices`


@dataclass(frozen=True)
class OptionSpec:
    name: str  # the attribute of the vendor's options and its key in the stored JSON
    label: str  # the panel's row label ("Mode"), or a check box's text
    kind: OptionKind
    default: Any
    choices: tuple[tuple[Any, str], ...] = ()  # (value, label) in the order shown
    setting: Setting | None = None  # where the panel's last choice is remembered
    flag: str | None = None  # `dictation-app transcribe` flag; None: none
    help: str = ""  # the flag's help
    tooltip: str = ""  # the panel control's tooltip
    what: str = ""  # its name in messages; empty: `name`
    in_panel: bool = True  # False: set elsewhere (the services dialog), kept as given
    cli_default_from_setting: bool = False  # the flag's default is the remembered value

    def check(self, value: Any) -> None:
        if self.kind is OptionKind.BOOL:
            if not isinstance(value, bool):
                raise ConfigurationError(f"{self.what or self.name} must be true or false, "
                                         f"not {value!r}")
            return
        allowed = [choice for choice, _label in self.choices]
        if value not in allowed:
            shown = [str(choice) for choice in allowed]
            listed = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
            raise ConfigurationError(f"{self.what or self.name} must be {listed}, not {value!r}")


class VendorOptions:
    """Base of a vendor's typed options: a frozen dataclass whose fields are its SPECS."""

    SPECS: ClassVar[tuple[OptionSpec, ...]] = ()

    def __post_init__(self) -> None:
        for spec in self.SPECS:
            spec.check(getattr(self, spec.name))

    def to_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in self.SPECS}

    @classmethod
    def from_dict(cls: type[V], values: Mapping[str, Any]) -> V:
        """The options among `values` this vendor declares; the others are dropped (an
        old row held every vendor's options side by side)."""
        return cls(**{spec.name: values[spec.name] for spec in cls.SPECS
                      if spec.name in values})

    @classmethod
    def of(cls: type[V], options: VendorOptions | None) -> V:
        """`options` as this vendor's type: as given, read from stored values, or the
        defaults when the job carries none."""
        if isinstance(options, cls):
            return options
        return cls() if options is None else cls.from_dict(options.to_dict())


@dataclass(frozen=True)
class StoredOptions(VendorOptions):
    """Vendor options read back without their type (a store opened without the
    registry): the plain values, which the vendor's service reads with `of()`."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values)

"""The COCO person-filter parameters (no heavy imports: the CLI builds its options from them)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class CocoFilter:
    """Filter parameters (fractions are of the image area)."""

    max_people: int = 2
    min_coverage: float = 0.2
    max_coverage: float = 0.7
    min_person_area: float = 0.01
    crowd: str = "drop"

    def __post_init__(self):
        if self.crowd not in ("drop", "mask"):
            raise ValueError(f"crowd must be 'drop' or 'mask', got {self.crowd!r}")
        if not 0 <= self.min_coverage <= self.max_coverage <= 1:
            raise ValueError(f"need 0 <= min_coverage <= max_coverage <= 1, got "
                             f"{self.min_coverage}, {self.max_coverage}")
        if self.max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {self.max_people}")

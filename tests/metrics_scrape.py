"""Reading a Prometheus endpoint as Prometheus does: over HTTP, in its text format."""

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# What the sentinel form of these tests holds: never in a metric.
SENTINELS = ("Zephyrine", "Quillfeather", "zq.sentinel", "600 987", "600987", "Wobbleton")


def sentinel_form() -> dict[str, str]:
    return {
        "full_name": "Zephyrine Quillfeather",
        "email": "zq.sentinel@example.org",
        "phone": "+34 600 987 654",
        "medical_history": "Wobbleton syndrome after the fall; sensation below T6.",
    }


class Scrape:
    """One scrape of an endpoint: its text and its samples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[Sample] = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def names(self) -> set[str]:
        return {sample.name for sample in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels`; 0 if none."""
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            sample.name == name and labels.items() <= sample.labels.items()
            for sample in self.samples
        )


async def scrape(port: int) -> Scrape:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"http://127.0.0.1:{port}/metrics")
    answer.raise_for_status()
    return Scrape(answer.text)

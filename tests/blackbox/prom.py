"""prom.py - reading `soarlist metrics` back with the Prometheus client
library's own text-format parser (Debian's python3-prometheus-client),
for test_metrics.py here and in tests/e2e."""
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a Python of its own (pyenv) beside Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families


def parse(text):
    """({(name, frozenset(labels.items())): value} of every sample,
    {family name: type}); a sample given twice fails."""
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, "sample %r twice" % (key,)
            samples[key] = s.value
    return samples, types


def get(samples, name, **labels):
    """The value of sample NAME{LABELS}, or None."""
    return samples.get((name, frozenset(labels.items())))

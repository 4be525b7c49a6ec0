"""Write a valid manifest with N friendly imports (disjoint half-month ranges) to stdout."""

from __future__ import annotations

import sys

HEADER = """version: 1
defaults:
  destination: arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/bench-0000
  source:
    bucket_region: us-east-1
    role_arn: arn:aws:iam::123456789012:role/LakeImport
imports:
"""


def manifest(count: int) -> str:
    lines = [HEADER]
    for index in range(count):
        year, month = 2000 + index // 24, (index // 2) % 12 + 1
        first_half = index % 2 == 0
        start = f"{year:04d}-{month:02d}-{'01' if first_half else '16'}T00:00:00Z"
        end = f"{year:04d}-{month:02d}-{'15' if first_half else '28'}T23:59:59Z"
        lines.append(
            f"  - name: import-{index:05d}\n"
            f"    source: {{uri: 's3://trail-logs/AWSLogs/123456789012/CloudTrail/'}}\n"
            f"    start_event_time: {start}\n"
            f"    end_event_time: {end}\n"
        )
    return "".join(lines)


if __name__ == "__main__":
    sys.stdout.write(manifest(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))

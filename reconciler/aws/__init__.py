"""The only package that touches boto3 (DESIGN.md "Layers").

`session.ClientFactory` builds clients; readers and writers for plan and apply come later.
"""

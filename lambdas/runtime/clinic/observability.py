"""Powertools utilities shared by the clinic functions (one service name per function via env)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ClinicIVR")

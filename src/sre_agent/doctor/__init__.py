"""Preflight: what this machine can do (Python, uv, skills, sandbox backends, tools, model
and observability configuration), each check with its verdict and why."""

from sre_agent.doctor.checks import Check, DoctorReport, run_doctor

__all__ = ["Check", "DoctorReport", "run_doctor"]

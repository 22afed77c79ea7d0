"""Rules for cluster and cloud CLIs (kubectl, helm, terraform, aws, gcloud, az): cluster-wide or
production deletes are HIGH, reads LOW, other changes MEDIUM. Data stores are in `stores`.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call, parse_opts
from sre_agent.safety.effects import sends
from sre_agent.safety.hosts import host_of
from sre_agent.safety.levels import Risk
from sre_agent.safety.registry import rule

# -- clusters and clouds ------------------------------------------------------------------------

_PROD = re.compile(r"prod|production|live|prd", re.I)


@rule("kubectl", "oc")
def rule_kubectl(call: Call) -> None:
    opts, operands = parse_opts(call.args, {"-n", "--namespace", "--context", "--kubeconfig",
                                            "-l", "--selector", "-o", "--output", "-c",
                                            "--container", "--cluster", "--user", "-f",
                                            "--filename", "--field-selector", "--timeout",
                                            "--grace-period", "-s", "--server", "--as"})
    verb = operands[0] if operands else ""
    ns = " ".join(opts.get("-n", []) + opts.get("--namespace", []) + opts.get("--context", []))
    rest = operands[1:]
    if verb in ("get", "describe") and rest and re.match(r"secrets?$|secret/", rest[0]):
        call.out.tags.add("secret")
        call.add(Risk.HIGH, "reads cluster secrets")
        return
    if verb in ("get", "describe", "logs", "top", "explain", "api-resources", "api-versions",
                "version", "cluster-info", "config", "auth", "events", "diff", "wait"):
        call.low("reads cluster state")
        return
    if verb == "delete":
        broad = opts.keys() & {"--all", "-A", "--all-namespaces", "-l", "--selector"}
        kinds = set(re.split(r"[,/]", rest[0])) if rest else set()
        cluster_kinds = kinds & {"ns", "namespace", "namespaces", "node", "nodes", "no", "pv",
                                 "persistentvolume", "persistentvolumes", "crd", "crds",
                                 "customresourcedefinition", "customresourcedefinitions",
                                 "clusterrole", "clusterrolebinding", "all", "deployment",
                                 "deployments", "deploy", "statefulset", "sts", "pvc"}
        if broad or cluster_kinds or _PROD.search(ns) or opts.get("-f"):
            call.add(Risk.HIGH, f"kubectl delete {' '.join(rest[:2])} {ns}: cluster-wide or "
                     "production delete".replace("  ", " "))
        else:
            call.add(Risk.MEDIUM, f"deletes {' '.join(rest[:2])} in the cluster")
        return
    if verb in ("drain",) or verb == "scale" and re.search(r"--replicas[= ]0\b",
                                                            " ".join(call.args)):
        call.add(Risk.HIGH, f"kubectl {verb}: removes capacity")
        return
    if verb == "exec" and "--" in call.args:
        inner = call.args[call.args.index("--") + 1:]
        call.add(Risk.MEDIUM, "runs a command in a pod")
        call.run_script(" ".join(inner), ctx=call.ctx.remote("a pod"))
        return
    risk = Risk.HIGH if _PROD.search(ns) and verb in ("apply", "replace", "patch", "edit",
                                                       "rollout", "set", "cordon") else Risk.MEDIUM
    call.add(risk, f"kubectl {verb}: changes cluster state {ns}".rstrip())


@rule("helm")
def rule_helm(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-n", "--namespace", "--kube-context", "-f",
                                         "--values", "--set", "--version", "--timeout"})
    verb = operands[0] if operands else ""
    text = " ".join(call.args)
    if verb in ("uninstall", "delete", "del", "un"):
        risk = Risk.HIGH if _PROD.search(text) or "--all" in text else Risk.MEDIUM
        call.add(risk, f"uninstalls release {' '.join(operands[1:2])}")
    elif verb in ("list", "ls", "status", "get", "history", "template", "show", "search",
                  "version", "lint", "env", "repo", "dependency"):
        call.low("reads releases")
    else:
        call.add(Risk.HIGH if _PROD.search(text) and verb in ("rollback", "upgrade", "install")
                 else Risk.MEDIUM, f"helm {verb}")


@rule("terraform", "terragrunt", "tofu")
def rule_terraform(call: Call) -> None:
    _, operands = parse_opts(call.args, {"-var", "-var-file", "-target", "-chdir", "-state",
                                         "-out", "-lock-timeout", "-parallelism"})
    verb = operands[0] if operands else ""
    flags = set(call.args)
    if verb == "destroy" or "-destroy" in flags and verb == "apply":
        call.add(Risk.HIGH, "destroys infrastructure")
    elif verb in ("state", "workspace") and len(operands) > 1 and operands[1] in (
            "rm", "delete", "push", "replace-provider"):
        call.add(Risk.HIGH, f"{verb} {operands[1]}: rewrites infrastructure state")
    elif verb in ("apply", "import", "taint", "untaint", "force-unlock", "refresh"):
        call.add(Risk.MEDIUM if "-auto-approve" not in flags else Risk.HIGH,
                 f"{verb}: changes infrastructure")
    else:
        call.low("plans or inspects infrastructure")


_CLOUD_SECRETS = re.compile(r"get-secret-value|get-parameters?\b.*--with-decryption|"
                            r"get-session-token|create-access-key|export-credentials|"
                            r"get-login-password|print-access-token|print-identity-token|"
                            r"get-access-token|configure\s+get|secrets\s+versions\s+access|"
                            r"keyvault\s+secret\s+show")


@rule("aws", "az", "doctl", "gcloud", "gsutil")
def rule_cloud(call: Call) -> None:
    text = " ".join(call.args)
    _, operands = parse_opts(call.args, {"--region", "--profile", "--project", "--output", "-o",
                                         "--zone", "--format", "--query", "--subscription"})
    if _CLOUD_SECRETS.search(text):
        call.out.tags.add("secret")
        call.add(Risk.HIGH, "reads cloud credentials or secrets")
        return
    words = set(operands)
    destroy = any(re.match(r"(delete|terminate|remove|deregister|purge|destroy|rb|"
                           r"delete-\S+|terminate-\S+|remove-\S+|deregister-\S+)$", w)
                  for w in operands)
    if call.name == "gsutil":
        destroy = bool(words & {"rb"}) or "rm" in words and bool(set(call.args) & {"-r", "-R",
                                                                                   "-a"})
    if call.name == "aws" and operands[:2] == ["s3", "rm"]:
        destroy = "--recursive" in call.args
    if "sync" in words and "--delete" in call.args:
        destroy = True
    if destroy:
        call.add(Risk.HIGH, f"{' '.join(operands[:3])}: deletes cloud resources")
        return
    if words & {"cp", "sync", "mv", "rsync"} and any(o.startswith(("s3://", "gs://"))
                                                      for o in operands[-1:]):
        for source in operands[1:-1]:
            if "://" not in source:
                call.read(source)
        sends(call, host_of(operands[-1]), "uploads local files")
        return
    if any(re.match(r"(describe|list|get|show|ls|head)(-|$)", w) for w in operands[:3]):
        call.low("reads cloud state")
        return
    call.add(Risk.MEDIUM, f"{' '.join(operands[:3])}: changes cloud resources")


__all__ = ["rule_cloud", "rule_helm", "rule_kubectl", "rule_terraform"]

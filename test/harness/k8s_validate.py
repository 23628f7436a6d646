"""Validates Kubernetes objects against the Kubernetes API's own schemas, strictly (a field the API does not
know is an error, as `kubectl apply --validate=strict` makes it), for each Kubernetes version asked.

    k8s_validate.py 1.30.0 1.37.0 < objects.json      (a JSON array of objects)

Kinds of the Kubernetes API: the JSON schemas kubernetes-validate ships per version (generated from the
API's OpenAPI document, `-strict` variants). ServiceMonitor (Prometheus Operator's CRD): its model from
cloudcoil-models-prometheus-operator, generated from the CRD's schema, with fields it would drop reported
as unknown. Any other kind is an error: nothing is skipped. Prints one JSON report:
{"results": [{"kind", "name", "validated": [versions], "errors": [messages]}]}.
"""

import json
import sys

import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

CRD_MODELS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def dropped_fields(given, kept, path=""):
    """Paths present in `given` that the model's dump `kept` lacks: fields the schema does not know."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            yield path or "."
            return
        for key, value in given.items():
            where = f"{path}.{key}"
            if key not in kept:
                yield where
            else:
                yield from dropped_fields(value, kept[key], where)
    elif isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            yield path
            return
        for i, (a, b) in enumerate(zip(given, kept)):
            yield from dropped_fields(a, b, f"{path}[{i}]")


def validate_crd(obj):
    from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

    model = ServiceMonitor.model_validate(obj, strict=True)
    kept = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    unknown = list(dropped_fields(obj, kept))
    if unknown:
        raise ValueError("unknown fields: " + ", ".join(unknown))


def main():
    versions = sys.argv[1:]
    if not versions:
        sys.exit("usage: k8s_validate.py VERSION... < objects.json")
    objects = json.load(sys.stdin)
    results = []
    for obj in objects:
        kind = obj.get("kind", "?")
        name = (obj.get("metadata") or {}).get("name", "?")
        result = {"kind": kind, "name": name, "validated": [], "errors": []}
        for version in versions:
            try:
                if (obj.get("apiVersion"), kind) in CRD_MODELS:
                    validate_crd(obj)
                else:
                    kubernetes_validate.validate(obj, version, strict=True)
                result["validated"].append(version)
            except ValidationError as e:
                where = ".".join(str(p) for p in e.path) or "."
                result["errors"].append(f"{version}: {where}: {e.message}")
            except SchemaNotFoundError as e:
                result["errors"].append(f"{version}: {e}")
            except Exception as e:  # pydantic's ValidationError, unknown fields
                result["errors"].append(f"{version}: {type(e).__name__}: {e}")
        results.append(result)
    json.dump({"kubernetes_validate": kubernetes_validate.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()

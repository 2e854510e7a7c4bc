"""Checks on infra/template.yaml that cfn-lint and checkov do not make.

- Every state machine definition file exists, is JSON, has an execution timeout (a top-level
  TimeoutSeconds), and uses exactly the ${...} substitutions the template gives it.
- Each state machine's role may invoke exactly the functions its definition substitutes.
- Every checkov skip says why.
- Every rule whose target names a dead-letter queue is allowed to send to it by the queue's policy
  (aws:SourceArn): EventBridge drops an undeliverable event silently otherwise.

cfn-lint does not read DefinitionUri files, so this also writes, for each definition, a plain
CloudFormation template with it inlined (OUTPUT_DIR/<definition file name>.template.json), for
cfn-lint to validate against the States Language schema.

Usage: python lint_template.py TEMPLATE OUTPUT_DIR
"""

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
SUB_GETATT = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}")


def strings(value):
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def getatt_target(value):
    """'X' for {"Fn::GetAtt": ["X", "Arn"]} or {"Fn::Sub": "${X.Arn}..."}, else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Fn::GetAtt":
        parts = argument.split(".") if isinstance(argument, str) else argument
        return parts[0] if list(parts[1:]) == ["Arn"] else None
    if function == "Fn::Sub" and isinstance(argument, str):
        match = SUB_GETATT.search(argument)
        return match.group(1) if match else None
    return None


def invokable_functions(role):
    """Logical ids of the functions a role's inline policies allow lambda:InvokeFunction on."""
    targets = set()
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if "lambda:InvokeFunction" not in actions:
                continue
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            targets.update(t for t in map(getatt_target, resources) if t)
    return targets


def check_state_machine(name, properties, resources, template_dir, problems):
    """Problems with one state machine; returns its definition (or None) for inlining."""
    uri = properties.get("DefinitionUri")
    if not isinstance(uri, str):
        problems.append(f"{name}: DefinitionUri must be a local file path")
        return None
    path = (template_dir / uri).resolve()
    try:
        definition = json.loads(path.read_text())
    except FileNotFoundError:
        problems.append(f"{name}: {uri} does not exist")
        return None
    except json.JSONDecodeError as error:
        problems.append(f"{name}: {uri} is not JSON: {error}")
        return None

    timeout = definition.get("TimeoutSeconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(
            f"{name}: {uri} has no execution timeout (top-level TimeoutSeconds): a hung run would "
            "never time out, so neither the timed-out alarm nor the cleanup rule would fire"
        )

    used = {m for s in strings(definition) for m in PLACEHOLDER.findall(s)}
    given = properties.get("DefinitionSubstitutions", {})
    for missing in sorted(used - set(given)):
        problems.append(
            f"{name}: {uri} uses ${{{missing}}}, which DefinitionSubstitutions lacks"
        )
    for unused in sorted(set(given) - used):
        problems.append(f"{name}: substitution {unused} is not used by {uri}")

    substituted = {t for t in map(getatt_target, given.values()) if t}
    role = getatt_target(properties.get("Role"))
    if role is None or role not in resources:
        problems.append(f"{name}: Role must be !GetAtt of a role in this template")
    else:
        invokable = invokable_functions(resources[role])
        for extra in sorted(invokable - substituted):
            problems.append(f"{role} may invoke {extra}, which {uri} does not use")
        for lacking in sorted(substituted - invokable):
            problems.append(f"{role} may not invoke {lacking}, which {uri} uses")
    return definition


def getatt_targets(value):
    """Logical ids of every {"Fn::GetAtt": [X, "Arn"]} in a value, through Fn::If and lists."""
    target = getatt_target(value)
    if target:
        yield target
    elif isinstance(value, dict):
        for item in value.values():
            yield from getatt_targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from getatt_targets(item)


def check_dead_letter_policies(resources, problems):
    allowed = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::SQS::QueuePolicy":
            continue
        properties = resource["Properties"]
        queues = [
            q.get("Ref") for q in properties.get("Queues", []) if isinstance(q, dict)
        ]
        sources = set()
        for statement in properties["PolicyDocument"]["Statement"]:
            for condition in statement.get("Condition", {}).values():
                sources.update(getatt_targets(condition.get("aws:SourceArn", [])))
        for queue in queues:
            allowed.setdefault(queue, set()).update(sources)
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        for target in resource["Properties"].get("Targets", []):
            queue = getatt_target(target.get("DeadLetterConfig", {}).get("Arn"))
            if queue and name not in allowed.get(queue, set()):
                problems.append(
                    f"{name}: target {target.get('Id')} names the dead-letter queue {queue}, whose policy "
                    f"does not allow it (add {name}.Arn to its aws:SourceArn)"
                )


def check_skips(name, resource, problems):
    skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    for skip in skips:
        if not str(skip.get("comment", "")).strip():
            problems.append(
                f"{name}: checkov skip {skip.get('id')} has no comment saying why"
            )


def main(template_path, output_dir):
    template_path = Path(template_path)
    template, matches = decode(str(template_path))
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    resources = template["Resources"]
    problems = []
    inlined = 0
    check_dead_letter_policies(resources, problems)
    for name, resource in resources.items():
        check_skips(name, resource, problems)
        if resource["Type"] != "AWS::Serverless::StateMachine":
            continue
        properties = resource["Properties"]
        definition = check_state_machine(
            name, properties, resources, template_path.parent, problems
        )
        if definition is None:
            continue
        state_machine = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/lint",
                "StateMachineType": properties.get("Type", "STANDARD"),
                "Definition": definition,
                "DefinitionSubstitutions": {
                    key: f"arn:aws:lambda:us-east-1:123456789012:function:{key}"
                    for key in properties.get("DefinitionSubstitutions", {})
                },
            },
        }
        out = (
            Path(output_dir) / f"{Path(properties['DefinitionUri']).name}.template.json"
        )
        out.write_text(
            json.dumps(
                {
                    "AWSTemplateFormatVersion": "2010-09-09",
                    "Resources": {name: state_machine},
                },
                indent=1,
            )
        )
        inlined += 1
    if not inlined:
        problems.append("no state machine definition could be read")
    for problem in problems:
        print(f"{template_path}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    sys.exit(main(sys.argv[1], sys.argv[2]))

#!/usr/bin/env bash
# Install Trino's password file, group file and access rules on an EMR primary node, then
# restart Trino. Run as an EMR step (terraform/modules/trino):
#   emr-configure-security.sh <secret arn of {"password_db": ..., "group_file": ...}> <s3 uri of rules.json>
# The secret holds PBKDF2 hashes only (`finlake trino passwd USER`), never passwords.
set -euo pipefail

secret_arn="$1"
rules_uri="$2"
conf=/etc/trino/conf
umask 077

aws secretsmanager get-secret-value --secret-id "$secret_arn" --query SecretString --output text \
  | python3 -c '
import json, pathlib, sys
conf = pathlib.Path(sys.argv[1])
value = json.loads(sys.stdin.read())
(conf / "password.db").write_text(value["password_db"].rstrip("\n") + "\n")
(conf / "group.txt").write_text(value.get("group_file", "").rstrip("\n") + "\n")
' "$conf"
aws s3 cp --only-show-errors "$rules_uri" "$conf/rules.json"

cat >"$conf/password-authenticator.properties" <<PROPS
password-authenticator.name=file
file.password-file=$conf/password.db
PROPS
cat >"$conf/group-provider.properties" <<PROPS
group-provider.name=file
file.group-file=$conf/group.txt
PROPS
cat >"$conf/access-control.properties" <<PROPS
access-control.name=file
security.config-file=$conf/rules.json
security.refresh-period=60s
PROPS

chown trino:trino "$conf"/password.db "$conf"/group.txt "$conf"/rules.json "$conf"/*.properties
chmod 600 "$conf"/password.db "$conf"/group.txt "$conf"/rules.json
systemctl restart trino-server

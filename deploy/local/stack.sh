#!/usr/bin/env bash
# The local stack without Docker: a single-node Kafka in KRaft mode, Jaeger v2
# with in-memory storage, PostgreSQL, and a schema registry with the Confluent
# API (Apicurio Registry, in-memory storage).
#
#   stack.sh install                 fetch Kafka, build Jaeger and the registry,
#                                    install PostgreSQL
#   stack.sh start [SERVICE...]      start (or reuse) services, wait until ready
#   stack.sh stop [SERVICE...]       stop services this script started
#   stack.sh status                  say what is running
#   stack.sh run CMD...              start what is not running, run CMD, then
#                                    stop only what this call started
#
# SERVICE is kafka, jaeger, postgres or registry; the default is all four.
# Kafka also listens for SASL_PLAINTEXT (PLAIN and SCRAM-SHA-512, user omniout,
# password omniout-secret) on OMNIOUT_KAFKA_SASL_PORT (default 9094).
# Everything lives under one cache directory, OMNIOUT_CACHE_DIR (default
# ~/.cache/omniout): fetched jars, the Jaeger binary, the built registry, data
# and logs/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${OMNIOUT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/omniout}
logs=$cache/logs

kafka_version=4.1.1
kafka_libs=$cache/kafka/libs-$kafka_version
kafka_data=$cache/kafka/data
kafka_port=${OMNIOUT_KAFKA_PORT:-9092}
kafka_controller_port=${OMNIOUT_KAFKA_CONTROLLER_PORT:-9093}
kafka_sasl_port=${OMNIOUT_KAFKA_SASL_PORT:-9094}
# The SASL listener's one user, for PLAIN and SCRAM-SHA-512 alike. A local
# stack only: the password is public, and the listener has no TLS.
kafka_sasl_user=omniout
kafka_sasl_password=omniout-secret

jaeger_bin=$cache/jaeger/bin/jaeger
jaeger_version=$(awk '/jaegertracing\/jaeger /{print $2; exit}' "$here/jaeger/go.mod")

pg_port=${OMNIOUT_PG_PORT:-5432}
# PostgreSQL will not run as root, and the postgres user cannot reach a cache
# under /root, so as root the cluster lives in a directory of its own.
if [[ $(id -u) -eq 0 ]]; then
  pg_data=${OMNIOUT_PG_DATA:-/var/tmp/omniout-postgres}
else
  pg_data=${OMNIOUT_PG_DATA:-$cache/postgres}
fi

registry_version=$(awk -F'[<>]' '/<apicurio.version>/{print $3; exit}' \
  "$here/registry/pom.xml")
registry_app=$cache/registry/app-$registry_version
registry_port=${OMNIOUT_REGISTRY_PORT:-8081}

all_services=(kafka jaeger postgres registry)
started=()  # what this call started, so that `run` stops only those

say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      die "$name did not become ready in ${limit}s; see $logs/$name.log"
    fi
    sleep 0.5
  done
}

# --- install ---------------------------------------------------------------

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb ]] && { echo "$dir"; return; }
  done
  return 1
}

install_kafka() {
  if [[ -f $kafka_libs/kafka_2.13-$kafka_version.jar ]]; then
    return
  fi
  command -v java >/dev/null || die "Java 17 or newer is needed for Kafka"
  command -v mvn >/dev/null || die "Maven is needed to fetch Kafka"
  say "fetching Kafka $kafka_version from Maven Central"
  rm -rf "$kafka_libs.tmp"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$kafka_version" -DincludeScope=runtime \
    -DoutputDirectory="$kafka_libs.tmp"
  mv "$kafka_libs.tmp" "$kafka_libs"
}

install_jaeger() {
  local stamp=$cache/jaeger/version
  if [[ -x $jaeger_bin && $(cat "$stamp" 2>/dev/null) == "$jaeger_version" ]]; then
    return
  fi
  command -v go >/dev/null || die "Go is needed to build Jaeger"
  say "building Jaeger $jaeger_version with Go (once; cached afterwards)"
  mkdir -p "$(dirname "$jaeger_bin")"
  (cd "$here/jaeger" && go build -o "$jaeger_bin.tmp" \
    github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$jaeger_bin.tmp" "$jaeger_bin"
  echo "$jaeger_version" >"$stamp"
}

install_postgres() {
  pg_bindir >/dev/null && return
  say "installing PostgreSQL from Debian's packages"
  local sudo=
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

install_registry() {
  if [[ -f $registry_app/quarkus-run.jar ]]; then
    return
  fi
  command -v java >/dev/null || die "Java 17 or newer is needed for the registry"
  command -v mvn >/dev/null || die "Maven is needed to build the registry"
  say "building Apicurio Registry $registry_version (once; cached afterwards)"
  rm -rf "$cache/registry/build"
  mvn -q -B -f "$here/registry/pom.xml" package \
    -Dregistry.build.dir="$cache/registry/build"
  rm -rf "$registry_app"
  mv "$cache/registry/build/quarkus-app" "$registry_app"
  rm -rf "$cache/registry/build"
}

# --- kafka -----------------------------------------------------------------

kafka_properties() {
  cat <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$kafka_controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$kafka_controller_port,SASL_PLAINTEXT://127.0.0.1:$kafka_sasl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port,SASL_PLAINTEXT://127.0.0.1:$kafka_sasl_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$kafka_sasl_user="$kafka_sasl_password";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$kafka_data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
}

kafka_java=(java -Xms256m -Xmx1g -XX:+UseG1GC
  -Dlog4j2.configurationFile="$here/kafka/log4j2.properties"
  -cp "$kafka_libs/*")

start_kafka() {
  port_open "$kafka_port" && { say "kafka: reusing 127.0.0.1:$kafka_port"; return; }
  install_kafka
  mkdir -p "$cache/kafka" "$logs"
  kafka_properties >"$cache/kafka/server.properties"
  if [[ ! -f $kafka_data/meta.properties ]]; then
    local cluster_id
    cluster_id=$("${kafka_java[@]}" kafka.tools.StorageTool random-uuid)
    "${kafka_java[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$cluster_id" -c "$cache/kafka/server.properties" >>"$logs/kafka.log"
  fi
  say "kafka: starting on 127.0.0.1:$kafka_port"
  [[ -f $logs/kafka.log ]] && mv "$logs/kafka.log" "$logs/kafka.log.1"
  nohup "${kafka_java[@]}" kafka.Kafka "$cache/kafka/server.properties" \
    >>"$logs/kafka.log" 2>&1 &
  echo $! >"$cache/kafka/pid"
  started+=(kafka)
  wait_for kafka 90 kafka_ready
  add_scram_user
}

# SCRAM credentials live in the cluster metadata, not in the properties, so
# they are set through the admin API once the broker is up. Setting them again
# on every start keeps a data directory formatted before the SASL listener
# existed working, and is harmless otherwise (the same password, a new salt).
add_scram_user() {
  "${kafka_java[@]}" kafka.admin.ConfigCommand \
    --bootstrap-server "127.0.0.1:$kafka_port" --alter \
    --entity-type users --entity-name "$kafka_sasl_user" \
    --add-config "SCRAM-SHA-512=[password=$kafka_sasl_password]" \
    >>"$logs/kafka-admin.log" 2>&1 || die "kafka: could not add the SCRAM user"
  say "kafka: SASL (PLAIN, SCRAM-SHA-512) on 127.0.0.1:$kafka_sasl_port"
}

kafka_ready() {
  port_open "$kafka_port" && grep -q "Kafka Server started" "$logs/kafka.log"
}

# --- jaeger ----------------------------------------------------------------

start_jaeger() {
  port_open 16686 && { say "jaeger: reusing 127.0.0.1:16686"; return; }
  install_jaeger
  mkdir -p "$logs"
  say "jaeger: starting (OTLP 4317/4318, query 16686)"
  nohup "$jaeger_bin" >>"$logs/jaeger.log" 2>&1 &
  echo $! >"$cache/jaeger/pid"
  started+=(jaeger)
  wait_for jaeger 60 jaeger_ready
}

jaeger_ready() {
  port_open 4318 && port_open 16686
}

# --- postgres --------------------------------------------------------------

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  port_open "$pg_port" && { say "postgres: reusing 127.0.0.1:$pg_port"; return; }
  install_postgres
  local bin
  bin=$(pg_bindir)
  mkdir -p "$logs" "$pg_data"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$pg_data"
  if [[ ! -f $pg_data/PG_VERSION ]]; then
    as_postgres "$bin/initdb" -D "$pg_data" -U omniout --auth=trust \
      >>"$logs/postgres.log"
  fi
  say "postgres: starting on 127.0.0.1:$pg_port"
  as_postgres "$bin/pg_ctl" -D "$pg_data" -w -t 60 -l "$pg_data/server.log" \
    -o "-h 127.0.0.1 -p $pg_port -k $pg_data" start >>"$logs/postgres.log"
  echo started >"$pg_data/omniout-started"
  started+=(postgres)
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U omniout -d postgres \
    -tAc "select 1 from pg_database where datname='omniout'" | grep -q 1; then
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U omniout omniout
  fi
}

# --- registry --------------------------------------------------------------

start_registry() {
  if port_open "$registry_port"; then
    say "registry: reusing 127.0.0.1:$registry_port"
    wait_for registry 90 registry_ready  # it may be starting still
    return
  fi
  install_registry
  mkdir -p "$cache/registry" "$logs"
  say "registry: starting on 127.0.0.1:$registry_port"
  [[ -f $logs/registry.log ]] && mv "$logs/registry.log" "$logs/registry.log.1"
  nohup java -Xms128m -Xmx512m -Dquarkus.http.host=127.0.0.1 \
    -Dquarkus.http.port="$registry_port" -jar "$registry_app/quarkus-run.jar" \
    >>"$logs/registry.log" 2>&1 &
  echo $! >"$cache/registry/pid"
  started+=(registry)
  wait_for registry 90 registry_ready
}

registry_ready() {  # the Confluent-compatible API answers, not only the port
  (
    exec 3<>"/dev/tcp/127.0.0.1/$registry_port" || exit 1
    printf 'GET /apis/ccompat/v7/subjects HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    read -r _ status _ <&3 && [[ $status == 200 ]]
  ) 2>/dev/null
}

# --- stop ------------------------------------------------------------------

stop_pidfile() {  # stop_pidfile NAME PIDFILE
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    say "$1: stopping"
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$2"
}

stop_service() {
  case $1 in
    kafka) stop_pidfile kafka "$cache/kafka/pid"
      # kafka.Kafka runs as a child of the nohup'ed shell.
      pkill -f "kafka.Kafka $cache/kafka/server.properties" 2>/dev/null || true ;;
    jaeger) stop_pidfile jaeger "$cache/jaeger/pid" ;;
    registry) stop_pidfile registry "$cache/registry/pid" ;;
    postgres)
      [[ -f $pg_data/omniout-started ]] || return 0
      say "postgres: stopping"
      as_postgres "$(pg_bindir)/pg_ctl" -D "$pg_data" -m fast stop >/dev/null || true
      rm -f "$pg_data/omniout-started" ;;
    *) die "unknown service: $1" ;;
  esac
}

start_service() {
  case $1 in
    kafka) start_kafka ;;
    jaeger) start_jaeger ;;
    postgres) start_postgres ;;
    registry) start_registry ;;
    *) die "unknown service: $1" ;;
  esac
}

# --- commands --------------------------------------------------------------

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install)
    install_kafka
    install_jaeger
    install_postgres
    install_registry
    ;;
  start)
    (($#)) || set -- "${all_services[@]}"
    for service in "$@"; do start_service "$service"; done
    ;;
  stop)
    (($#)) || set -- "${all_services[@]}"
    for service in "$@"; do stop_service "$service"; done
    ;;
  status)
    port_open "$kafka_port" && say "kafka: up on $kafka_port" || say "kafka: down"
    port_open "$kafka_sasl_port" && say "kafka: SASL up on $kafka_sasl_port" \
      || say "kafka: SASL down"
    port_open 16686 && say "jaeger: up on 16686" || say "jaeger: down"
    port_open "$pg_port" && say "postgres: up on $pg_port" || say "postgres: down"
    port_open "$registry_port" && say "registry: up on $registry_port" \
      || say "registry: down"
    ;;
  run)
    (($#)) || die "usage: stack.sh run CMD..."
    cleanup() {
      local service
      for service in "${started[@]}"; do stop_service "$service"; done
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    for service in "${all_services[@]}"; do start_service "$service"; done
    "$@"
    ;;
  *)
    die "usage: stack.sh install|start|stop|status|run [...]"
    ;;
esac

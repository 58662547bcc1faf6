# syntax=docker/dockerfile:1.7
#
# finlake images, one Dockerfile, three targets:
#   docker build --target jobs    -t finlake-jobs .     spark-submit entry (JRE 17 + cached JARs)
#   docker build --target api     -t finlake-api .      uvicorn api.app:create_app on :8000
#   docker build --target airflow -t finlake-airflow .  Airflow 3.3 (own venv) + dags/ + jobs
#
# Base images are pinned by tag and digest (bump them together; the python image appears
# twice); Python packages come from hashed lockfiles (requirements/*.lock, `uv pip compile
# --generate-hashes`) installed with `pip --require-hashes`, so a build fetches exactly the
# reviewed artifacts. Every runtime stage runs as the unprivileged user finlake (uid 10001).

# ---------------------------------------------------------------------------------------------
# JRE 17 for Spark (copied into the runtime stages; no apt packages needed)
FROM eclipse-temurin:17.0.16_8-jre-noble@sha256:88665729998a41823f35092c95d574581719371a0f21f62d31a9ccf506b199c6 AS jre

# ---------------------------------------------------------------------------------------------
# Build the project into a self-contained virtual environment
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first (their own layer): every artifact checked against the lockfile's hashes.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-compile --require-hashes --no-deps -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY conf ./conf
COPY bronze ./bronze
COPY silver ./silver
COPY gold ./gold
COPY forecasting ./forecasting
COPY jobs ./jobs
COPY api ./api
COPY dags ./dags
RUN pip install --no-compile --no-deps --no-build-isolation . \
    && pip check \
    && python -c "import conf.settings, jobs.spark, api.app"

# ---------------------------------------------------------------------------------------------
# Resolve the Delta Lake and hadoop-aws JARs once, at build time, into the image's cache
FROM builder AS jars
ENV JAVA_HOME=/opt/java/openjdk \
    FINLAKE_CACHE_DIR=/opt/finlake/cache \
    FINLAKE_LAKE_ROOT=/tmp/bootstrap-lake
ENV PATH=/opt/venv/bin:$JAVA_HOME/bin:$PATH
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
# (no class archive: this image's drivers are started by spark-submit, which does not map it)
RUN python -m jobs.bootstrap --no-class-archive \
    && rm -rf /opt/finlake/cache/spark-warehouse /tmp/bootstrap-lake

# ---------------------------------------------------------------------------------------------
# Common runtime: Python venv, non-root user, no build tools
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    FINLAKE_CACHE_DIR=/opt/finlake/cache
RUN groupadd --system --gid 10001 finlake \
    && useradd --system --uid 10001 --gid finlake --home-dir /home/finlake --create-home \
       --shell /usr/sbin/nologin finlake \
    && install -d -o finlake -g finlake /opt/finlake /opt/finlake/cache /opt/finlake/work
COPY --from=builder /opt/venv /opt/venv
WORKDIR /opt/finlake/work

# ---------------------------------------------------------------------------------------------
# api: FastAPI ingestion + metrics API (no JVM needed)
FROM runtime AS api
ENV FINLAKE_ENV=prod
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# Public listener on :8000 (routed by the load balancer); the admin listener with /metrics and
# /docs stays on the task's loopback (:9464, scraped by a sidecar). The tasks accept traffic
# from the load balancer's security group only, hence any forwarding proxy is trusted.
ENTRYPOINT ["python", "-m", "jobs.serve", "--host", "0.0.0.0", "--port", "8000", "--admin-host", "127.0.0.1", "--admin-port", "9464", "--proxy-headers", "--forwarded-allow-ips", "*"]

# ---------------------------------------------------------------------------------------------
# Spark runtime: JRE 17 + the JARs resolved at build time (Ivy works offline from its cache)
FROM runtime AS spark-runtime
ENV JAVA_HOME=/opt/java/openjdk \
    FINLAKE_SPARK_MASTER=local[*] \
    FINLAKE_JOBS_DIR=/opt/venv/lib/python3.11/site-packages/jobs
ENV PATH=/opt/venv/bin:$JAVA_HOME/bin:$PATH
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
COPY --from=jars --chown=finlake:finlake /opt/finlake/cache /opt/finlake/cache

# ---------------------------------------------------------------------------------------------
# jobs: `docker run finlake-jobs /opt/venv/lib/python3.11/site-packages/jobs/bronze_job.py …`
FROM spark-runtime AS jobs
ARG DELTA_PACKAGE=io.delta:delta-spark_4.1_2.13:4.4.0
ARG HADOOP_AWS_PACKAGE=org.apache.hadoop:hadoop-aws:3.4.2
ENV FINLAKE_SPARK_PACKAGES=${DELTA_PACKAGE},${HADOOP_AWS_PACKAGE}
USER 10001:10001
HEALTHCHECK NONE
ENTRYPOINT ["sh", "-c", "exec spark-submit --packages \"$FINLAKE_SPARK_PACKAGES\" --conf spark.jars.ivy=\"$FINLAKE_CACHE_DIR/ivy\" \"$@\"", "spark-submit"]
CMD ["--version"]

# ---------------------------------------------------------------------------------------------
# airflow: Airflow in its own venv (its Spark provider pulls pyspark-client, which collides
# with pyspark), the DAGs, and the jobs runtime for SparkSubmitOperator tasks.
FROM spark-runtime AS airflow
ARG AIRFLOW_VERSION=3.3.2
ARG AIRFLOW_AMAZON_PROVIDER_VERSION=9.39.0
ARG AIRFLOW_SPARK_PROVIDER_VERSION=6.3.4
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/airflow.lock /tmp/airflow.lock
# requirements/airflow.in pins AIRFLOW_*_VERSION above; the lock adds every transitive hash.
RUN python -m venv /opt/airflow-venv \
    && /opt/airflow-venv/bin/pip install --require-hashes --no-deps -r /tmp/airflow.lock \
    && /opt/airflow-venv/bin/pip check \
    && rm /tmp/airflow.lock \
    && ln -sf /opt/venv/bin/spark-submit /opt/airflow-venv/bin/spark-submit \
    && install -d -o finlake -g finlake /opt/airflow /opt/airflow/dags
# Airflow first on PATH; spark-submit resolves to the jobs venv (symlink above).
ENV PATH=/opt/airflow-venv/bin:/opt/venv/bin:/opt/java/openjdk/bin:/usr/local/bin:/usr/bin:/bin
COPY --chown=finlake:finlake dags/ /opt/airflow/dags/
USER 10001:10001
WORKDIR /opt/airflow
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=5 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/api/v2/monitor/health', timeout=4).status != 200)"]
ENTRYPOINT ["airflow"]
CMD ["standalone"]

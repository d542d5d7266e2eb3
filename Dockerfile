# syntax=docker/dockerfile:1
# warmer in a container. Build:  docker build -t warmer .
# Run (the working directory /work holds warmer.toml, the sample and the run directories):
#   docker run --rm -v "$PWD:/work" warmer gate --target https://candidate.internal
#   docker run --rm warmer demo
# A build behind a proxy or a private index takes pip's configuration as build secrets
# (never stored in a layer):  --secret id=pip.conf,src=pip.conf [--secret id=pip-ca.pem,src=ca.pem]

# Both stages share the base, so the virtualenv's interpreter links stay valid.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# A C compiler for warmer's two extensions; it never reaches the final image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/warmer
WORKDIR /src
# The dependencies get a layer of their own: a change to warmer's code reuses it. Their test
# suites (about 50 MB) are never run from the image.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip.conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip-ca.pem \
    python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['demo']))" > /tmp/requirements.txt \
    && /opt/warmer/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm -rf /opt/warmer/lib/python3*/site-packages/pandas/tests \
              /opt/warmer/lib/python3*/site-packages/pyarrow/tests \
              /opt/warmer/lib/python3*/site-packages/numpy/tests
COPY setup.py README.md ./
COPY warmer ./warmer
# The import (-I: not from /src) proves the extensions were compiled; setup.py makes them optional.
RUN --mount=type=secret,id=pip.conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip-ca.pem \
    /opt/warmer/bin/pip install --no-cache-dir --no-deps . \
    && /opt/warmer/bin/python -I -c "import warmer.observe.parsers._cache_status_c, warmer.sample.formats._tokenize_c"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="warmer" \
      org.opencontainers.image.description="Warm a candidate's cache tiers with recorded traffic and gate its promotion" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 warmer \
    && useradd --system --uid 10001 --gid warmer --create-home --home-dir /home/warmer warmer \
    && install -d -o warmer -g warmer /work
COPY --from=builder /opt/warmer /opt/warmer
# `warmer demo` needs its sample; pip installs only the package.
COPY traffic_samples/demo.jsonl.gz /opt/warmer/share/demo.jsonl.gz
ENV PATH=/opt/warmer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WARMER_DEMO_SAMPLE=/opt/warmer/share/demo.jsonl.gz
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["warmer"]
CMD ["--help"]

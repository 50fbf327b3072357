# mockserver sandbox: `docker build -t mockserver . && docker run -p 8080:8080 mockserver`
# State (devices, bookings, the webhook outbox with its pending retries) lives in the
# /data volume and survives restarts; `docker stop` (SIGTERM) shuts down gracefully.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY resources ./resources
COPY fixtures ./fixtures
COPY contract_suites ./contract_suites
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_STATE=/data/state.db
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin mockserver \
    && mkdir /data \
    && chown mockserver:mockserver /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels
USER 10001:10001
WORKDIR /home/mockserver
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_mock/health' % os.environ.get('MOCKSERVER_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["python", "-m", "mockserver", "serve"]
CMD []

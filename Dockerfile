# One image for every Lianluo process: `serve`, `cti`, `ivr`, `worker`, and one-shot commands such
# as `db upgrade` (docker-compose.yml picks the command per service).

# The console's front-end packages (echarts…), from the npm registry as the lock file pins them; only their
# node_modules reach the image, which serves them at /static/vendor/<name>/ (agent_ui/vendor.py).
FROM node:20-bookworm-slim AS ui-packages
WORKDIR /ui
COPY agent_ui/package.json agent_ui/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# espeak-ng and sox: `lianluo ivr prompts` turns the prompt texts into the audio Asterisk plays.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*

# Only what the package build and the running processes read: .git, .venv and tests stay out.
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY cti ./cti
COPY ivr ./ivr
COPY agent_ui ./agent_ui
COPY --from=ui-packages /ui/node_modules ./agent_ui/node_modules
COPY scripts_tpl ./scripts_tpl
RUN pip install . \
 && rm -rf build ./*.egg-info

RUN groupadd --system --gid 10001 lianluo \
 && useradd --system --uid 10001 --gid lianluo --home-dir /var/lib/lianluo --shell /usr/sbin/nologin lianluo \
 && mkdir -p /var/lib/lianluo \
 && chown lianluo:lianluo /var/lib/lianluo

# Uploads and generated files live outside the code. Inside a container a loopback listener cannot
# be reached, so HTTP and FastAGI listen on all interfaces by default.
ENV LIANLUO_DATA_DIR=/var/lib/lianluo \
    LIANLUO_HOST=0.0.0.0 \
    LIANLUO_AGI_HOST=0.0.0.0

USER 10001:10001

# serve (HTTP and websocket), ivr (FastAGI)
EXPOSE 8000 4573

ENTRYPOINT ["lianluo"]
CMD ["serve"]

# One image for the five services; docker-compose.yml picks the service by its command,
# e.g. `python -m services.identity`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    HTTP_HOST=0.0.0.0

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY shared ./shared
COPY services ./services
# `python -m devstack topics` creates the catalog's topics (the kafka-init container).
COPY devstack ./devstack
COPY deploy/local ./deploy/local

RUN useradd --system --uid 10001 alumni
USER alumni

ENTRYPOINT ["python", "-m"]

# One image for every process of the production stack (docker-compose.yml):
# the web server (gunicorn), the Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .

RUN useradd --system --create-home --uid 10001 --user-group qinglian \
    && mkdir -p /data/media \
    && chown qinglian:qinglian /data/media

ENV DJANGO_SETTINGS_MODULE=config.settings.production \
    MEDIA_ROOT=/data/media \
    STATIC_ROOT=/app/staticfiles

# Production settings refuse the development secret: give collectstatic a throwaway
# one. It is used for this step only and is not kept in the image's environment.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
    DJANGO_DEBUG=false \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -f /tmp/collectstatic.sqlite3* \
    && mkdir -p /app/var \
    && chown -R qinglian:qinglian /app/var

USER qinglian

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

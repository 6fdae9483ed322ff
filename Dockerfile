# Trial EDC production image: gunicorn + whitenoise; the same image runs web, worker and beat.
# Python 3.13: a tested end of the supported range (docs/decisions/0004).
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --system --create-home --home-dir /home/edc edc
COPY pyproject.toml README.md ./
COPY trialedc ./trialedc
COPY kernel ./kernel
COPY accounts ./accounts
COPY participants ./participants
COPY randomization ./randomization
COPY outcomes ./outcomes
COPY safety ./safety
COPY exports ./exports
COPY dashboards ./dashboards
COPY datamanagement ./datamanagement
COPY api ./api
COPY locale ./locale
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install . \
 && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input \
 && mkdir -p /app/var/media && chown -R edc /app/var

USER edc
EXPOSE 8000
CMD ["gunicorn", "trialedc.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]

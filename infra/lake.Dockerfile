# The lake exporter (chalicelib/jobs.py: lake_export_handler): the API's dependencies, pinned
# with hashes by requirements.lock, and duckdb (requirements-lake.lock) to write Parquet.
FROM public.ecr.aws/lambda/python:3.12
COPY requirements.lock requirements-lake.lock ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir --require-hashes --no-deps -r ${LAMBDA_TASK_ROOT}/requirements.lock \
 && pip install --no-cache-dir --require-hashes --no-deps -r ${LAMBDA_TASK_ROOT}/requirements-lake.lock
COPY chalicelib ${LAMBDA_TASK_ROOT}/chalicelib
CMD ["chalicelib.jobs.lake_export_handler"]

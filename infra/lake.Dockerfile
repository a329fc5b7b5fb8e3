# The lake exporter (chalicelib/jobs.py: lake_export_handler): the API's dependencies, pinned
# with hashes by requirements.lock, and duckdb (requirements-lake.txt) to write Parquet.
FROM public.ecr.aws/lambda/python:3.12
COPY requirements.lock requirements-lake.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir --require-hashes -r ${LAMBDA_TASK_ROOT}/requirements.lock \
 && pip install --no-cache-dir -r ${LAMBDA_TASK_ROOT}/requirements-lake.txt
COPY chalicelib ${LAMBDA_TASK_ROOT}/chalicelib
CMD ["chalicelib.jobs.lake_export_handler"]

"""Pipeline 3 (async ML inference): what a cold start of the worker costs, the model path per image when warm,
what batching buys, API -> result latency on the local cloud, and the artifacts' sizes against Lambda's limits.

* init: the worker's Init Duration (process start -> ready: imports + model load), as the local runtime reports
  it, over several cold starts (each forced by a configuration change, as a deploy would), with the breakdown
  the function logs ("init done": imports, model download + session);
* warm per image: decode + normalise + the image's share of the batch's ONNX Runtime call, measured inside the
  handler ("batch done" log lines), and the whole handler per image (with its S3/DynamoDB/EventBridge calls);
* batch vs one at a time: the same images through preprocess + session.run in batches of 10 and one by one,
  in-process (the worker's code and the served model);
* API -> result: POST an image, poll its result URL every 10 ms until it has ended; one request at a time;
* baselines in the same run: the naive seed-style pipeline (an HTTP API whose function saves each posted image
  to S3 and answers results by ID; S3 notification -> one invocation per image that creates its clients,
  downloads the model and builds an ONNX Runtime session every call; bench/naive/), driven as ours is (8 clients
  POST the images through its API, then poll every result through it), and, for reference, its worker alone fed
  the images straight into its bucket; and our worker's handler called in-process on the queue's messages (the
  floor); then the bill per 1M images of ours and of the naive one (bench/cost.py), each side's API function
  priced from its own measured duration.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from localcloud.testing import wait_until
from sluicectl import inference as client
from sluicectl import model as digits

from . import baselines, cost, floor
from .common import ROOT, deployed_cloud, percentile, show, summary, write

COLD_STARTS = 3
FLOOR_IMAGES = 100
LATENCY_SAMPLES = 30
WARM_IMAGES = 200
NAIVE_IMAGES = 100  # the first 100 of the same images: each is one independent invocation, so the rate settles fast
TARGETS = {"init_ms": 300, "warm_image_p50_ms": 5, "api_to_result_p50_ms": 1000}


def _log_records(cloud, function: str, message: str) -> list[dict]:
    found = []
    for line in cloud.logs(function, lines=5000):
        text = line["message"].strip()
        if text.startswith("{") and f'"message":"{message}"' in text:
            try:
                found.append(json.loads(text))
            except ValueError:
                continue
    return found


def _poll_until_ended(url: str, deadline: float = 30.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < deadline:
        reply = client.result(url)
        if reply.body.get("status") in client.ENDED:
            return time.perf_counter()
        time.sleep(0.01)
    raise TimeoutError(url)


def _in_process_batching(model: digits.TrainedModel, images: list[bytes]) -> dict:
    sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))
    sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))
    import onnxruntime as ort
    from sluice_ml import preprocess

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.onnx, options, providers=["CPUExecutionProvider"])
    for data in images[:20]:  # warm up
        session.run(None, {"input": preprocess.features(data)[None, :]})

    started = time.perf_counter()
    for data in images:
        session.run(None, {"input": preprocess.features(data)[None, :]})
    single = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(images), 10):
        session.run(None, {"input": np.stack([preprocess.features(d) for d in images[start : start + 10]])})
    batched = time.perf_counter() - started
    features = np.stack([preprocess.features(d) for d in images])
    started = time.perf_counter()
    for row in features:
        session.run(None, {"input": row[None, :]})
    model_single = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(features), 10):
        session.run(None, {"input": features[start : start + 10]})
    model_batched = time.perf_counter() - started
    return {
        "images": len(images),
        "one_at_a_time_images_per_s": round(len(images) / single, 1),
        "batches_of_10_images_per_s": round(len(images) / batched, 1),
        "ratio_batch_vs_single": round(single / batched, 2),
        "model_only_one_at_a_time_images_per_s": round(len(images) / model_single, 1),
        "model_only_batches_of_10_images_per_s": round(len(images) / model_batched, 1),
        "model_only_ratio": round(model_single / model_batched, 2),
    }


def _sizes() -> dict:
    sizes = {}
    for target, folder in (("local", ROOT / "dist"), ("aws", ROOT / "dist" / "aws")):
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            continue
        artifacts = json.loads(manifest_path.read_text())["artifacts"]
        row = {}
        for key in ("layers/ml", "layers/shared", "functions/inference_worker", "functions/inference_api"):
            if key in artifacts:
                row[key] = {
                    "zip_bytes": artifacts[key]["size"],
                    "unzipped_bytes": artifacts[key]["unzipped_size"],
                }
        worker = artifacts.get("functions/inference_worker")
        if worker:
            total = worker["unzipped_size"] + sum(
                artifacts[f"layers/{name}"]["unzipped_size"] for name in worker.get("layers", [])
            )
            row["worker_with_layers_unzipped_bytes"] = total
            row["worker_share_of_250_MiB"] = round(total / 262_144_000, 3)
        sizes[target] = row
    return sizes


def run() -> dict:
    trained = digits.train(("svc",))
    _, X_test, _, _ = digits.load_split()
    images = [
        digits.render_digit(
            X_test[i % len(X_test)], (8, 28, 64, 100)[i % 4], ("PNG", "JPEG")[i % 2], invert=i % 3 == 0
        )
        for i in range(WARM_IMAGES)
    ]
    batching = _in_process_batching(trained, images)

    with deployed_cloud() as deployed:
        cloud, outputs = deployed.cloud, deployed.outputs
        digits.publish(cloud.boto3_client("s3"), outputs["inference_model_bucket_name"], trained)
        api, worker = outputs["inference_api_url"], outputs["inference_worker_function_name"]
        lam = cloud.boto3_client("lambda")

        # Cold starts: a configuration change retires the environments (as a deploy does); the next image starts one.
        base_env = lam.get_function_configuration(FunctionName=worker)["Environment"]["Variables"]
        for i in range(COLD_STARTS):
            lam.update_function_configuration(
                FunctionName=worker, Environment={"Variables": {**base_env, "BENCH_COLD_START": str(i)}}
            )
            reply = client.submit(api, images[i])
            client.wait_ended([reply.body["result_url"]], timeout=60)
        wait_until(
            lambda: len(_log_records(cloud, worker, "init done")) >= COLD_STARTS,
            timeout=30,
            what="init log lines",
        )
        inits = [r["init"] for r in _log_records(cloud, worker, "init done")][-COLD_STARTS:]
        init_reports = []
        for line in cloud.logs(worker, lines=5000):
            if "Init Duration:" in line["message"]:
                init_reports.append(float(line["message"].split("Init Duration:")[1].split("ms")[0]))
        init_reports = init_reports[-COLD_STARTS:]

        # API -> result latency, one request at a time (warm API and worker).
        latencies = []
        for i in range(LATENCY_SAMPLES):
            started = time.perf_counter()
            reply = client.submit(api, images[i % len(images)])
            latencies.append((_poll_until_ended(reply.body["result_url"]) - started) * 1000)

        # Throughput and warm per-image figures under load: 200 images, 8 clients.
        from concurrent.futures import ThreadPoolExecutor

        api_function = outputs["inference_api_function_name"]
        since = baselines.snapshot(cloud, [worker, api_function])
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda data: client.submit(api, data), images))
        ended = client.wait_ended([r.body["result_url"] for r in replies], timeout=300)
        load_seconds = time.perf_counter() - started
        batches = [r["batch"] for r in _log_records(cloud, worker, "batch done")]
        status = cloud.status()
        figures = baselines.figures_since(cloud, since)

        floor_images = images[:FLOOR_IMAGES]
        in_process = floor.measure(
            cloud,
            worker,
            outputs["inference_queue_url"],
            len(floor_images),
            lambda: [client.submit(api, data) for data in floor_images],
        )
        naive = baselines.inference(
            cloud,
            images[:NAIVE_IMAGES],
            trained.onnx,
            [outputs["shared_layer_arn"], outputs["ml_layer_arn"]],
            figures[worker]["memory_mb"],
            figures[api_function]["memory_mb"],
        )
    compute = [ms for b in batches for ms in b["compute_ms"]]
    handler_per_image = [b["handler_ms"] / b["records"] for b in batches if b["records"]]
    mapping = next((r for r in status["deliveries"] if r.get("function") == worker), {})
    init_p50 = percentile(init_reports, 0.5) if init_reports else float("nan")
    result = {
        "model": {
            "version": trained.version,
            "held_out_accuracy": trained.accuracy,
            "onnx_bytes": len(trained.onnx),
        },
        "init_ms": summary(init_reports),
        "init_breakdown_ms": {
            key: percentile([i.get(key, float("nan")) for i in inits], 0.5)
            for key in ("ml_imports_ms", "other_imports_ms", "s3_client_ms", "model_load_ms", "init_ms")
        },
        "warm_image_compute_ms": summary(compute),
        "warm_handler_ms_per_image": summary(handler_per_image),
        "batching": batching,
        "api_to_result_ms": summary(latencies),
        "load": {
            "images": len(images),
            "ended": len(ended),
            "seconds": round(load_seconds, 2),
            "images_per_s": round(len(images) / load_seconds, 1),
            "mean_batch": mapping.get("mean_batch"),
        },
        "sizes": _sizes(),
        "terraform_apply_seconds": round(deployed.apply_seconds, 1),
        "targets": TARGETS,
        "lambda": figures,
        "in_process": in_process,
        "naive": naive,
    }
    naive_worker, naive_api = naive["lambda"][naive["function"]], naive["lambda"][naive["api_function"]]
    # The model's two API invocations per image (a POST, one GET of the result) at each side's own duration.
    api_usage = cost.measured_lambda(figures[api_function], 1, invocations=2)
    naive_api_usage = cost.measured_lambda(naive_api, 1, invocations=2)
    ours_batch = len(images) / max(1, figures[worker]["invocations"])
    result["cost"] = cost.compare(
        cost.inference_usage(
            api_usage,
            cost.measured_lambda(figures[worker], len(images)),
            queue_batch=ours_batch,
            model_gets=0,
        ),
        cost.inference_usage(
            naive_api_usage, cost.measured_lambda(naive_worker, naive["images"]), queue_batch=None, model_gets=1
        ),
    )
    result["ratios"] = {
        "throughput_ours_to_naive": round(result["load"]["images_per_s"] / naive["images_per_s"], 2),
        "throughput_ours_to_naive_worker_only": round(
            result["load"]["images_per_s"] / naive["worker_only"]["images_per_s"], 2
        ),
        "throughput_ours_to_in_process": round(
            result["load"]["images_per_s"] / in_process["records_per_second_in_handler"], 3
        ),
        "worker_ms_per_image_naive_to_ours": round(
            naive_worker["mean_billed_ms"] / (figures[worker]["mean_billed_ms"] / ours_batch), 2
        ),
    }
    aws = result["sizes"].get("aws") or result["sizes"].get("local", {})
    show(
        "pipeline 3 (async inference) on the local cloud",
        [
            (
                "worker init: imports + model load (ms, p50)",
                init_p50,
                f"target ≤ {TARGETS['init_ms']} ms; "
                + ", ".join(f"{k.removesuffix('_ms')} {v}" for k, v in result["init_breakdown_ms"].items()),
            ),
            (
                "warm per image, decode → label (ms, p50)",
                result["warm_image_compute_ms"]["p50"],
                f"target ≤ {TARGETS['warm_image_p50_ms']} ms; p99 {result['warm_image_compute_ms']['p99']}",
            ),
            (
                "warm handler per image, with I/O (ms, p50)",
                result["warm_handler_ms_per_image"]["p50"],
                f"p99 {result['warm_handler_ms_per_image']['p99']}",
            ),
            (
                "batch of 10 vs one at a time (throughput, times)",
                batching["ratio_batch_vs_single"],
                f"model alone x{batching['model_only_ratio']}",
            ),
            (
                "API → result (ms, p50)",
                result["api_to_result_ms"]["p50"],
                f"target ≤ {TARGETS['api_to_result_p50_ms']} ms; p99 {result['api_to_result_ms']['p99']}",
            ),
            (
                "200 images, 8 clients (images/s)",
                result["load"]["images_per_s"],
                f"{result['load']['ended']} ended, mean batch {result['load']['mean_batch']}",
            ),
            (
                f"naive: {NAIVE_IMAGES} images, 8 clients (images/s)",
                naive["images_per_s"],
                "through its HTTP API, results polled through it, as ours",
            ),
            (
                "ours / naive images/s",
                result["ratios"]["throughput_ours_to_naive"],
                f"times; against the naive worker alone (images put straight into its bucket, no API): "
                f"x{result['ratios']['throughput_ours_to_naive_worker_only']}",
            ),
            (
                "in-process worker handler images/s (floor)",
                in_process["records_per_second_in_handler"],
                f"{FLOOR_IMAGES} images",
            ),
            (
                "USD per 1M images, ours / naive",
                f"{result['cost']['ours']['usd']:.2f} / {result['cost']['naive']['usd']:.2f}",
                f"naive costs x{result['cost']['ratio_naive_to_ours']}",
            ),
            (
                "ml layer zip / unzipped (MB)",
                f"{aws.get('layers/ml', {}).get('zip_bytes', 0) / 1e6:.1f} / {aws.get('layers/ml', {}).get('unzipped_bytes', 0) / 1e6:.1f}",
                "zip ≤ 50 MiB (direct upload)",
            ),
            (
                "worker + layers unzipped (MB)",
                round(aws.get("worker_with_layers_unzipped_bytes", 0) / 1e6, 1),
                f"{aws.get('worker_share_of_250_MiB', 0):.0%} of the 250 MiB limit",
            ),
        ],
    )
    write("inference", result)
    return result

"""Pipeline 4, naive: seed 001 pattern 3 ("Orchestrated Workflows") applied to seed 004's document pipeline.

S3 notification -> ``trigger`` (once per object) -> StartExecution of a Standard workflow whose states each invoke
one of the functions below through ``lambda:invoke`` with ``OutputPath: $.Payload`` (what the seed's CDK
``LambdaInvoke`` tasks generate): Validate -> Extract -> Sentiment -> Summarize -> Store -> Notify, in sequence.

The seed's style: every call creates its AWS clients, and the NLP models (VADER's analyzer, YAKE's extractor)
are built inside the call that uses them; the document's text travels inside the execution's state (no S3 text
object), the result goes to a table and an object, and Notify is a function publishing to an SNS topic. The
analysis itself is the same libraries and the same sums as ours (``functions/document_steps/logic.py``), so both
answer the same question; only the style differs. One module, a handler per step
(``document_handlers.<step>``); the libraries are vendored in the zip by ``bench/baselines.py``.
"""

import io
import json
import os
import re
from urllib.parse import unquote_plus

import boto3


def trigger(event, context):
    sfn = boto3.client("stepfunctions")
    for record in event["Records"]:
        sfn.start_execution(
            stateMachineArn=os.environ["STATE_MACHINE_ARN"],
            input=json.dumps(
                {
                    "bucket": record["s3"]["bucket"]["name"],
                    "key": unquote_plus(record["s3"]["object"]["key"]),
                }
            ),
        )
    return {"statusCode": 200}


def validate(event, context):
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=event["bucket"], Key=event["key"])
    if head["ContentLength"] == 0:
        raise ValueError("empty document")
    kind = "pdf" if event["key"].lower().endswith(".pdf") else "text"
    if kind == "pdf":
        start = s3.get_object(Bucket=event["bucket"], Key=event["key"], Range="bytes=0-1023")["Body"].read()
        if b"%PDF-" not in start:
            raise ValueError("not a PDF")
    return {**event, "kind": kind, "size": head["ContentLength"], "etag": head["ETag"].strip('"')}


def extract(event, context):
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read()
    if event["kind"] == "pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(body))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    else:
        text = body.decode("utf-8")
    return {**event, "text": normalise(text)}


def normalise(text):
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sentences(text):
    from segtok.segmenter import split_multi

    return [s.strip() for s in split_multi(text) if any(ch.isalpha() for ch in s)]


def sentiment(event, context):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()  # loads the lexicon on every call
    parts = sentences(event["text"]) or [event["text"]]
    compound = round(sum(analyzer.polarity_scores(s)["compound"] for s in parts) / len(parts), 4)
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    return {**event, "sentiment": {"label": label, "compound": compound}}


def summarize(event, context):
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=2, dedupLim=0.7, top=20)
    ranked = extractor.extract_keywords(event["text"])
    weights = {k.lower(): 1.0 / (1.0 + float(score)) for k, score in ranked}
    parts = sentences(event["text"])
    scored = sorted(
        ((sum(w for k, w in weights.items() if k in s.lower()) / max(len(s.split()), 1) ** 0.5, i)
         for i, s in enumerate(parts)),
        reverse=True,
    )
    chosen = sorted(i for _, i in scored[:3])
    return {
        **event,
        "summary": [parts[i] for i in chosen],
        "keywords": [k for k, _ in ranked[:8]],
    }


def store(event, context):
    s3 = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    document_id = f"{event['key']}#{event['etag']}"
    result = {k: v for k, v in event.items() if k != "text"}
    s3.put_object(
        Bucket=os.environ["OUTPUT_BUCKET"],
        Key=f"results/{event['key']}.json",
        Body=json.dumps(result),
        ContentType="application/json",
    )
    dynamodb.put_item(
        TableName=os.environ["RESULTS_TABLE"],
        Item={
            "pk": {"S": document_id},
            "sentiment": {"S": event["sentiment"]["label"]},
            "compound": {"N": str(event["sentiment"]["compound"])},
            "summary": {"S": json.dumps(event["summary"])},
            "keywords": {"SS": sorted(set(event["keywords"]))} if event["keywords"] else {"NULL": True},
        },
    )
    return {"document_id": document_id, "sentiment": event["sentiment"]["label"]}


def notify(event, context):
    sns = boto3.client("sns")
    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Subject="Document processed", Message=json.dumps(event))
    return event

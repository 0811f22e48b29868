#!/usr/bin/env python3
"""Checks on template.yaml that keep the deployment from voiding the IP check or the usage plan.

Reads both the template as written and the template as the SAM translator expands it (offline),
so a change anywhere between the two that drops a guarantee fails here."""

import os
import pathlib
import unittest

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = pathlib.Path(__file__).resolve().parent.parent / "template.yaml"
KEY_HEADER = "x-api-key"


class NoManagedPolicies:
    """The template names no managed policies by name, so the translator needs no IAM lookup."""

    def load(self):
        return {}


def load_template():
    return yaml_parse(TEMPLATE.read_text())


def translated():
    template = load_template()
    # sam validate does the same: code locations only need to look like S3 URIs.
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if properties.get("CodeUri") == ".":
            properties["CodeUri"] = "s3://bucket/key"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, {}, NoManagedPolicies())


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.raw = load_template()
        cls.out = translated()
        cls.resources = cls.out["Resources"]

    def of_type(self, kind):
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def rest_authorizers(self):
        (api,) = self.of_type("AWS::ApiGateway::RestApi").values()
        schemes = api["Properties"]["Body"]["securityDefinitions"]
        return {
            name: scheme["x-amazon-apigateway-authorizer"]
            for name, scheme in schemes.items()
            if "x-amazon-apigateway-authorizer" in scheme
        }

    def http_authorizers(self):
        (api,) = self.of_type("AWS::ApiGatewayV2::Api").values()
        schemes = api["Properties"]["Body"]["components"]["securitySchemes"]
        return {name: scheme["x-amazon-apigateway-authorizer"] for name, scheme in schemes.items()}

    def test_rest_identity_sources_are_the_key_header_and_the_source_ip(self):
        authorizers = self.rest_authorizers()
        self.assertTrue(authorizers)
        for name, authorizer in authorizers.items():
            sources = [s.strip() for s in authorizer["identitySource"].split(",")]
            self.assertIn(f"method.request.header.{KEY_HEADER}", sources, name)
            self.assertIn("context.identity.sourceIp", sources, name)

    def test_http_identity_sources_are_the_key_header_and_the_source_ip(self):
        authorizers = self.http_authorizers()
        self.assertTrue(authorizers)
        for name, authorizer in authorizers.items():
            sources = authorizer["identitySource"]
            self.assertIn(f"$request.header.{KEY_HEADER}", sources, name)
            self.assertIn("$context.identity.sourceIp", sources, name)
            if authorizer.get("enableSimpleResponses"):
                # A simple answer carries no policy: only a per-route cache keeps route limits.
                self.assertIn("$context.routeKey", sources, name)

    def test_the_function_reads_the_header_the_identity_sources_name(self):
        variables = self.raw["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(variables["KEYFENCE_KEY_HEADER"], KEY_HEADER)

    def test_the_cache_ttl_cannot_exceed_an_hour(self):
        parameter = self.raw["Parameters"]["AuthorizerTtlSeconds"]
        self.assertLessEqual(int(parameter["MaxValue"]), 3600)
        self.assertGreaterEqual(int(parameter["MinValue"]), 0)
        self.assertEqual(int(parameter["Default"]), 300)
        for name, authorizer in {**self.rest_authorizers(), **self.http_authorizers()}.items():
            ttl = authorizer.get("authorizerResultTtlInSeconds")
            if isinstance(ttl, dict):
                self.assertEqual(ttl, {"Ref": "AuthorizerTtlSeconds"}, name)
            else:
                self.assertLessEqual(int(ttl), 3600, name)

    def test_rest_api_takes_the_usage_plan_key_from_the_authorizer(self):
        for name, api in self.of_type("AWS::ApiGateway::RestApi").items():
            self.assertEqual(api["Properties"].get("ApiKeySourceType"), "AUTHORIZER", name)
            body = api["Properties"]["Body"]
            for path, methods in body["paths"].items():
                if "Fn::If" in methods:
                    methods = methods["Fn::If"][1]
                for verb, method in methods.items():
                    schemes = {k for s in method.get("security", []) for k in s}
                    self.assertIn("api_key", schemes, f"{path} {verb} is outside the usage plan")
        (plan,) = self.of_type("AWS::ApiGateway::UsagePlan").values()
        self.assertIn("Throttle", plan["Properties"])
        self.assertIn("Quota", plan["Properties"])

    def test_the_function_may_only_read_the_key_table(self):
        role_name = "AuthorizerFunctionRole"
        role = self.resources[role_name]["Properties"]
        managed = role.get("ManagedPolicyArns", [])
        self.assertEqual(managed, ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        self.assertTrue(statements)
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            self.assertEqual(statement["Effect"], "Allow")
            self.assertEqual(actions, ["dynamodb:GetItem"])
            self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["KeysTable", "Arn"]})

    def test_the_key_table_is_protected(self):
        table = self.raw["Resources"]["KeysTable"]
        properties = table["Properties"]
        self.assertEqual(properties["BillingMode"], "PAY_PER_REQUEST")
        self.assertTrue(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self.assertTrue(properties["SSESpecification"]["SSEEnabled"])
        self.assertTrue(properties["DeletionProtectionEnabled"])
        self.assertEqual(table["DeletionPolicy"], "Retain")

    def test_the_function_is_arm64_on_provided_al2023_built_by_cargo_lambda(self):
        function = self.raw["Resources"]["AuthorizerFunction"]
        self.assertEqual(function["Properties"]["Runtime"], "provided.al2023")
        self.assertEqual(function["Properties"]["Architectures"], ["arm64"])
        self.assertEqual(function["Metadata"]["BuildMethod"], "rust-cargolambda")
        self.assertEqual(function["Metadata"]["BuildProperties"]["Binary"], "keyfence-authorizer")


if __name__ == "__main__":
    unittest.main(verbosity=2)

import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ApiKeyService,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  RevokeApiKeyResponseSchema,
} from "../../gen/wagateway/v1/api_key_service_pb.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import { apiError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import { isUlid } from "../util/ulid.js";
import { capabilityOf, toApiKeyMessage } from "./api-key-message.js";
import type { ApiKeyRepository } from "./api-key-repository.js";
import { validateNewApiKey } from "./api-key-validation.js";

/** The ApiKeyService handlers: keys of the caller's organization only. */
export function createApiKeyService(repo: ApiKeyRepository, authenticator: ApiKeyAuthenticator): ServiceImpl<typeof ApiKeyService> {
  return {
    async createApiKey(req, ctx) {
      const principal = principalOf(ctx);
      const permissions = validateNewApiKey(req.name, req.permissions.map(capabilityOf));
      const { row, secret } = await repo.create({
        organizationId: principal.organizationId,
        name: req.name.trim(),
        permissions,
        createdByUserId: principal.userId,
      });
      return create(CreateApiKeyResponseSchema, { apiKey: toApiKeyMessage(row), secret });
    },

    async listApiKeys(_req, ctx) {
      const rows = await repo.list(principalOf(ctx).organizationId);
      return create(ListApiKeysResponseSchema, { apiKeys: rows.map(toApiKeyMessage) });
    },

    async revokeApiKey(req, ctx) {
      const id = req.key.toUpperCase();
      if (!isUlid(id)) throw apiError("not_found", "API key not found");
      const row = await repo.revoke(principalOf(ctx).organizationId, id);
      if (!row) throw apiError("not_found", "API key not found");
      authenticator.forget(row.id);
      return create(RevokeApiKeyResponseSchema, {});
    },
  };
}

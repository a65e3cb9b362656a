import 'reflect-metadata';
import { Arg, Ctx, Field, FieldResolver, Float, InputType, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';
import type { MultipartPlan, UploadPlan } from '../../services/multipart/multipart-uploads.js';
import type { GraphQLContext } from '../context.js';
import type { RegisteredVersion } from '../../services/version.service.js';
import { ArtifactUpload, PresignedUrl } from '../types.js';

@ObjectType({ description: 'One part of a multipart upload: where to PUT it' })
export class UploadPart {
  @Field(() => Int, { description: 'Its number, from 1: part n holds bytes (n-1)*partSizeBytes onwards' }) partNumber!: number;
  @Field(() => PresignedUrl, { description: 'A presigned PUT for exactly this part; the answer carries its ETag' }) upload!: PresignedUrl;
  @Field(() => String, { nullable: true, description: 'The ETag of this part as storage already holds it (skip it when resuming); null: not uploaded, or the storage cannot list parts' })
  etag!: string | null;
}

@ObjectType({ description: 'A large artifact uploaded in parts (in parallel, resumable), joined and verified on completion' })
export class MultipartUpload {
  @Field(() => String, { description: "Storage's id of this multipart upload (for logs; the registry finds it itself)" }) uploadId!: string;
  @Field(() => Float, { description: 'Bytes per part, chosen by the registry; the last part holds the rest' }) partSizeBytes!: number;
  @Field(() => [UploadPart], { description: 'The parts asked for (all, at registration), in part order' }) parts!: UploadPart[];
}

@InputType({ description: "The ETags of an artifact's parts, as storage answered each part's PUT" })
export class ArtifactPartsInput {
  @Field(() => String, { description: 'The artifact path, as registered' }) path!: string;
  @Field(() => [String], { description: 'One ETag per part, part 1 first' }) etags!: string[];
}

@ObjectType('UploadPlan', { description: 'How the registry would take a file of a given size: in one PUT, or in parts of the size it chooses (ask before hashing the parts)' })
export class UploadPlanType {
  @Field(() => Boolean, { description: 'True: registered with this size, the file is offered in parts (ArtifactUpload.parts)' }) inParts!: boolean;
  @Field(() => Float, { nullable: true, description: 'The part size registration will choose (the last part holds the rest); null when not in parts' }) partSizeBytes!: number | null;
  @Field(() => Int, { nullable: true, description: 'How many parts, hence how many ArtifactInput.partSha256 to give; null when not in parts' }) partCount!: number | null;
}

@Resolver(() => UploadPlanType)
export class UploadPlanResolver {
  @Query(() => UploadPlanType, {
    description: 'Whether a file of this size goes up in parts, and the part size and count registration would use: hash the parts with it and send ArtifactInput.partSha256. Any role that may register versions',
  })
  uploadPlan(@Ctx() ctx: GraphQLContext, @Arg('sizeBytes', () => Float, { description: 'The exact size of the file in bytes' }) sizeBytes: number): UploadPlan {
    return ctx.services.versions.uploadPlan(sizeBytes, ctx.actor);
  }
}

@Resolver(() => ArtifactUpload)
export class ArtifactUploadResolver {
  @FieldResolver(() => MultipartUpload, {
    nullable: true,
    description: 'For an artifact larger than the multipart threshold (64 MiB by default; always past 5 GiB): its parts. Null: use `upload`',
  })
  parts(@Root() upload: RegisteredVersion['uploads'][number]): MultipartPlan | null {
    return upload.parts ?? null;
  }
}

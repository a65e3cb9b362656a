import 'reflect-metadata';
import { Field, FieldResolver, Float, InputType, Int, ObjectType, Resolver, Root } from 'type-graphql';
import type { MultipartPlan } from '../../services/multipart/multipart-uploads.js';
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

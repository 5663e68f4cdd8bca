/** The port between the upload paths (which store the bytes) and media processing (which records and processes them). */
export interface MediaIngest {
  /** Records the upload as a media item and queues processing; returns its id and status. sha256 is known for streamed uploads (hex), unknown for presigned/multipart. */
  ingest(input: {
    ownerId: string;
    objectKey: string;
    size: number;
    declaredType: string;
    sha256?: string;
  }): Promise<{ mediaId: string; status: 'processing' | 'ready' | 'failed' }>;
  /**
   * The current state of a media item `ingest` made (undefined when there is
   * no such item): what an upload's status reports long after its completion,
   * and whether the item still reads the upload's key (`originalKey`).
   */
  mediaState(
    mediaId: string,
  ): Promise<{ status: 'processing' | 'ready' | 'failed'; originalKey: string } | undefined>;
}

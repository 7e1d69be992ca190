"""Raw protobuf classes of google.firestore.v1, taken from the protos google-cloud-firestore ships.

The emulator works on raw protobuf messages rather than the proto-plus wrappers: they are an
order of magnitude cheaper to build and copy, which is what keeps commits and queries fast.
"""

from __future__ import annotations

from google.cloud.firestore_v1.types import (
    aggregation_result,
    common,
    document,
    firestore,
    query,
    write,
)

Document = document.Document.pb()
Value = document.Value.pb()
MapValue = document.MapValue.pb()
ArrayValue = document.ArrayValue.pb()

DocumentMask = common.DocumentMask.pb()
Precondition = common.Precondition.pb()
TransactionOptions = common.TransactionOptions.pb()

StructuredQuery = query.StructuredQuery.pb()
StructuredAggregationQuery = query.StructuredAggregationQuery.pb()
Cursor = query.Cursor.pb()
AggregationResult = aggregation_result.AggregationResult.pb()

Write = write.Write.pb()
WriteResult = write.WriteResult.pb()
DocumentTransform = write.DocumentTransform.pb()
DocumentChange = write.DocumentChange.pb()
DocumentDelete = write.DocumentDelete.pb()
DocumentRemove = write.DocumentRemove.pb()
ExistenceFilter = write.ExistenceFilter.pb()

GetDocumentRequest = firestore.GetDocumentRequest.pb()
ListDocumentsRequest = firestore.ListDocumentsRequest.pb()
ListDocumentsResponse = firestore.ListDocumentsResponse.pb()
CreateDocumentRequest = firestore.CreateDocumentRequest.pb()
UpdateDocumentRequest = firestore.UpdateDocumentRequest.pb()
DeleteDocumentRequest = firestore.DeleteDocumentRequest.pb()
BatchGetDocumentsRequest = firestore.BatchGetDocumentsRequest.pb()
BatchGetDocumentsResponse = firestore.BatchGetDocumentsResponse.pb()
BeginTransactionRequest = firestore.BeginTransactionRequest.pb()
BeginTransactionResponse = firestore.BeginTransactionResponse.pb()
CommitRequest = firestore.CommitRequest.pb()
CommitResponse = firestore.CommitResponse.pb()
RollbackRequest = firestore.RollbackRequest.pb()
RunQueryRequest = firestore.RunQueryRequest.pb()
RunQueryResponse = firestore.RunQueryResponse.pb()
RunAggregationQueryRequest = firestore.RunAggregationQueryRequest.pb()
RunAggregationQueryResponse = firestore.RunAggregationQueryResponse.pb()
ListCollectionIdsRequest = firestore.ListCollectionIdsRequest.pb()
ListCollectionIdsResponse = firestore.ListCollectionIdsResponse.pb()
BatchWriteRequest = firestore.BatchWriteRequest.pb()
BatchWriteResponse = firestore.BatchWriteResponse.pb()
ListenRequest = firestore.ListenRequest.pb()
WriteRequest = firestore.WriteRequest.pb()
WriteResponse = firestore.WriteResponse.pb()
ListenResponse = firestore.ListenResponse.pb()
Target = firestore.Target.pb()
TargetChange = firestore.TargetChange.pb()

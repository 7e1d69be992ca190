from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.users import User


class UserRepository(Repository[User]):
    collection_name: ClassVar[str] = collections.USERS
    model = User
    id_field: ClassVar[str] = "uid"
